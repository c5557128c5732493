"""The controller LLM: a protocol and two implementations.

- LlamaCppController: a local GGUF through llama-cpp-python (the default). The chat template
  comes from the GGUF; JSON output is constrained by a grammar built from a JSON schema; the
  fixed prompt prefix's KV state is reused (llama.cpp keeps the longest common token prefix,
  and a RAM cache keeps states across differently-prefixed calls).
- OpenAICompatController: any OpenAI-compatible server (llama.cpp server, vLLM, Ollama).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.config import hardware
from core.config.settings import Settings
from core.errors import Cancelled, ControllerError

Message = dict[str, str]
TokenCallback = Callable[[str], None]

# Controller models Maestro knows by short name: (Hub repo, GGUF file). Wheel packs provide both.
CONTROLLER_MODELS: dict[str, tuple[str, str]] = {
    "qwen2.5-coder-1.5b": ("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
    "qwen2.5-coder-0.5b": ("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
}


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    finish_reason: str = ""

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


class Controller(Protocol):
    name: str

    def chat(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict[str, Any] | None = None, stop: list[str] | None = None,
             cancel: threading.Event | None = None, on_token: TokenCallback | None = None,
             grammar: str | None = None) -> Completion: ...

    def complete_json(self, messages: list[Message], schema: dict[str, Any],
                      max_tokens: int = 512) -> dict[str, Any]: ...

    def prime(self, prefix: list[Message]) -> None:
        """Prepare a fixed prompt prefix for reuse (a no-op where the server caches by itself)."""


def _json_from(completion: Completion) -> dict[str, Any]:
    try:
        value = json.loads(completion.text)
    except json.JSONDecodeError as e:
        raise ControllerError(f"controller returned invalid JSON: {e}") from e
    if not isinstance(value, dict):
        raise ControllerError("controller returned JSON that is not an object")
    return value


MIN_CONTEXT = 8192  # tokens: the planner's fixed prefix, a follow-up's demos and context, the steps


class LlamaCppController:
    """A GGUF model run in-process by llama.cpp. One generation at a time (a lock)."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = MIN_CONTEXT, n_threads: int = 0,
                 n_gpu_layers: int | None = None, seed: int = 0, name: str | None = None):
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ControllerError(f"controller model not found: {self.model_path}")
        self.name = name or self.model_path.name
        self.supports_gbnf = True
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._formatter: Any = None
        # Greedy GBNF calls (plans) go through core/llm/decode.py; False: llama-cpp-python's chain.
        self.fast_greedy = True
        self.last_decode: Any = None
        self._prefix_states: dict[str, tuple[np.ndarray, bytes]] = {}
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ControllerError("llama-cpp-python is not installed (pip install llama-cpp-python)") from e
        from core.llm import backend as llama_backend

        try:  # before llama.cpp's first call: pick the CPU build this machine really runs
            self.backend = llama_backend.activate(self.model_path)
        except RuntimeError as e:
            raise ControllerError(str(e)) from e
        if n_gpu_layers is None:
            n_gpu_layers = -1 if _gpu_offload_supported() else 0
        t0 = time.monotonic()
        try:
            # 0 = this machine's physical cores for generation and all usable CPUs for prompts
            # (llama-cpp-python's own default, half the CPUs, idles a core without hyper-threading).
            self._llm = Llama(model_path=str(self.model_path), n_ctx=n_ctx,
                              n_threads=n_threads or hardware.physical_cores() or None,
                              n_threads_batch=n_threads or hardware.usable_cpus(), n_gpu_layers=n_gpu_layers,
                              seed=seed, verbose=False)
        except Exception as e:  # llama.cpp raises ValueError for unreadable files
            raise ControllerError(f"could not load {self.model_path.name}: {e}") from e
        self.load_s = time.monotonic() - t0
        self.device = "gpu" if n_gpu_layers else "cpu"

    def _gbnf(self, text: str) -> Any:
        if text not in self._grammars:
            from llama_cpp import LlamaGrammar

            if len(self._grammars) > 64:
                self._grammars.clear()
            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return self._grammars[key]

    def prime(self, prefix: list[Message]) -> None:
        """Make the KV state of a fixed prompt prefix current before a call that starts with it.

        The state is kept in memory (another prompt may have replaced the KV cache since) and
        on disk, so a fresh `main.py plan` process skips re-reading ~1k prompt tokens."""
        key = hashlib.sha256(json.dumps(
            [str(self.model_path.resolve()), self.model_path.stat().st_size, self._llm.n_ctx(), prefix],
            sort_keys=True).encode()).hexdigest()[:24]
        path = _kv_dir() / f"{key}.kvstate"
        with self._lock:
            state = self._prefix_states.get(key) or self._read_state(path)
            if state is None:
                # Evaluate the prefix (plus a throwaway user turn; generate() keeps the common prefix).
                self._llm.create_chat_completion(
                    messages=[*prefix, {"role": "user", "content": "."}], max_tokens=1)
                state = self._capture_state()
                self._write_state(path, state)
            self._prefix_states[key] = state
            ids, raw = state
            current = self._llm.input_ids[: self._llm.n_tokens]
            if len(current) >= len(ids) - 1 and np.array_equal(current[: len(ids) - 1], ids[:-1]):
                return  # the KV cache already starts with this prefix
            self._restore_state(state)

    def _capture_state(self) -> tuple[np.ndarray, bytes]:
        import llama_cpp

        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buf = (ctypes.c_uint8 * int(size))()
        n = int(llama_cpp.llama_state_get_data(ctx, buf, size))
        ids = np.array(self._llm.input_ids[: self._llm.n_tokens], dtype=np.int32)
        return ids, bytes(buf)[:n]

    def _restore_state(self, state: tuple[np.ndarray, bytes]) -> None:
        import llama_cpp

        ids, raw = state
        buf = (ctypes.c_uint8 * len(raw)).from_buffer_copy(raw)
        if int(llama_cpp.llama_state_set_data(self._llm._ctx.ctx, buf, len(raw))) != len(raw):
            self._llm.reset()
            return
        self._llm.input_ids[: len(ids)] = ids
        # Leave the last token to be re-evaluated so the logits are always fresh.
        self._llm.n_tokens = max(0, len(ids) - 1)

    @staticmethod
    def _write_state(path: Path, state: tuple[np.ndarray, bytes]) -> None:
        ids, raw = state
        header = json.dumps({"n_tokens": len(ids), "state_bytes": len(raw)}).encode()
        payload = len(header).to_bytes(4, "little") + header + ids.astype(np.int32).tobytes() + raw
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two processes (window, CLI) may write it at once
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(payload + hashlib.sha256(payload).digest())
            tmp.replace(path)
        except OSError:  # a full disk only costs speed
            tmp.unlink(missing_ok=True)
        prune_states(path.parent)

    @staticmethod
    def _read_state(path: Path) -> tuple[np.ndarray, bytes] | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        payload, digest = data[:-32], data[-32:]
        if len(data) < 40 or hashlib.sha256(payload).digest() != digest:
            path.unlink(missing_ok=True)  # corrupt: rebuilt on this call
            return None
        hlen = int.from_bytes(payload[:4], "little")
        header = json.loads(payload[4:4 + hlen])
        n_tokens = header["n_tokens"]
        ids = np.frombuffer(payload[4 + hlen: 4 + hlen + 4 * n_tokens], dtype=np.int32).copy()
        try:
            os.utime(path)  # in use: the newest, so prune_states keeps it
        except OSError:
            pass
        return ids, payload[4 + hlen + 4 * n_tokens:]

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def chat(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict[str, Any] | None = None, stop: list[str] | None = None,
             cancel: threading.Event | None = None, on_token: TokenCallback | None = None,
             grammar: str | None = None, logits_processor: Any = None) -> Completion:
        """`schema` (JSON schema) or `grammar` (GBNF text) constrains the output; `logits_processor`
        (a callable on (token ids, scores)) may ban tokens on top of it."""
        if grammar and temperature == 0.0 and not stop and on_token is None and self.fast_greedy:
            fast = self._chat_greedy(messages, grammar, max_tokens, logits_processor, cancel)
            if fast is not None:
                return fast
        grammar = self._gbnf(grammar) if grammar else (self._grammar(schema) if schema else None)
        extra: dict[str, Any] = {}
        if logits_processor is not None:
            from llama_cpp import LogitsProcessorList

            extra["logits_processor"] = LogitsProcessorList([logits_processor])
        with self._lock:
            t0 = time.monotonic()
            stream = self._llm.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=temperature,
                grammar=grammar, stop=stop, stream=True, **extra)
            parts: list[str] = []
            finish = ""
            for chunk in stream:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("generation cancelled")
                choice = chunk["choices"][0]
                piece = choice.get("delta", {}).get("content") or ""
                if piece:
                    parts.append(piece)
                    if on_token:
                        on_token(piece)
                finish = choice.get("finish_reason") or finish
            seconds = time.monotonic() - t0
            text = "".join(parts)
            # Streaming chunks carry no usage; count from the tokenizer instead.
            completion_tokens = self.count_tokens(text)
            prompt_tokens = max(0, self._llm.n_tokens - completion_tokens)
        return Completion(text, prompt_tokens, completion_tokens, seconds, finish)

    def complete_json(self, messages: list[Message], schema: dict[str, Any],
                      max_tokens: int = 512) -> dict[str, Any]:
        return _json_from(self.chat(messages, max_tokens=max_tokens, schema=schema))

    def prompt_tokens(self, messages: list[Message]) -> list[int] | None:
        """The prompt create_chat_completion would evaluate for `messages` (the GGUF's chat
        template, generation prompt included); None for a model without a template."""
        llm = self._llm
        if self._formatter is None:
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                return None
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "", stop_token_ids=[eos])
        result = self._formatter(messages=messages)
        return llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def _chat_greedy(self, messages: list[Message], grammar: str, max_tokens: int,
                     logits_processor: Any, cancel: threading.Event | None) -> Completion | None:
        """Greedy decoding under a GBNF grammar by core/llm/decode.py (the grammar checks the
        best token first); None when the model has no chat template to format with."""
        from core.llm.decode import GreedyDecoder

        with self._lock:
            t0 = time.monotonic()
            tokens = self.prompt_tokens(messages)
            if tokens is None:
                return None
            res = GreedyDecoder(self._llm).decode(tokens, grammar, max_tokens=max_tokens,
                                                  logits_processor=logits_processor, cancel=cancel)
            self.last_decode = res
            return Completion(res.text, res.prompt_tokens, len(res.tokens), time.monotonic() - t0,
                              res.finish_reason)


KEEP_STATES = 4  # prefix states kept on disk (one per controller model, prompt and context size)


def prune_states(folder: Path, keep: int = KEEP_STATES) -> None:
    """Delete all but the `keep` newest prefix states (~70 MB each): a changed prompt, model or
    context size makes a new one, and the old ones would pile up in models_cache/kv."""
    try:
        states = sorted(folder.glob("*.kvstate"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in states[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def _kv_dir() -> Path:
    from core.config.paths import models_cache

    return models_cache() / "kv"


def _gpu_offload_supported() -> bool:
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # noqa: BLE001 - old builds lack the probe
        return False


class OpenAICompatController:
    """Chat completions over HTTP (OpenAI protocol), streamed with server-sent events."""

    def __init__(self, base_url: str, model: str = "", api_key: str = "", timeout_s: float = 300.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._key = api_key
        self.timeout_s = timeout_s
        self.name = f"{model or 'model'} @ {self.base_url}"
        self.device = "remote"
        self.supports_gbnf = False
        self._schema_style = "json_schema"  # falls back to llama-cpp-python's json_object+schema

    def prime(self, prefix: list[Message]) -> None:
        """Servers (llama.cpp server, vLLM) cache shared prefixes themselves."""

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatController({self.base_url!r}, {self.model!r})"

    def _request(self, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions",
                                     data=json.dumps(body).encode(), headers=headers, method="POST")
        return urllib.request.urlopen(req, timeout=self.timeout_s)  # noqa: S310 - user-configured URL

    def chat(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict[str, Any] | None = None, stop: list[str] | None = None,
             cancel: threading.Event | None = None, on_token: TokenCallback | None = None,
             grammar: str | None = None) -> Completion:
        if grammar:
            raise ControllerError("an OpenAI-compatible endpoint takes a JSON schema, not a GBNF grammar")
        body: dict[str, Any] = {"model": self.model or "default", "messages": messages,
                                "max_tokens": max_tokens, "temperature": temperature, "stream": True,
                                "stream_options": {"include_usage": True}}
        if stop:
            body["stop"] = stop
        t0 = time.monotonic()
        resp = None
        for style in ([self._schema_style, "json_object"] if schema else [None]):
            if style == "json_schema":
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "output", "schema": schema, "strict": True}}
            elif style == "json_object":
                body["response_format"] = {"type": "json_object", "schema": schema}
            try:
                resp = self._request(body)
                self._schema_style = style or self._schema_style
                break
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:300]
                if schema and style == "json_schema" and e.code in (400, 422, 500):
                    continue  # this server wants the other schema style
                raise ControllerError(f"controller endpoint answered HTTP {e.code}: {detail}") from e
            except (urllib.error.URLError, OSError) as e:
                raise ControllerError(f"cannot reach controller endpoint {self.base_url}: {e}") from e
        if resp is None:
            raise ControllerError("controller endpoint refused structured output")
        parts: list[str] = []
        usage: dict[str, int] = {}
        finish = ""
        with resp:
            for raw in resp:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("generation cancelled")
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content") or ""
                    if piece:
                        parts.append(piece)
                        if on_token:
                            on_token(piece)
                    finish = choice.get("finish_reason") or finish
        text = "".join(parts)
        return Completion(text, usage.get("prompt_tokens", 0),
                          usage.get("completion_tokens", 0) or len(text) // 4,
                          time.monotonic() - t0, finish)

    def complete_json(self, messages: list[Message], schema: dict[str, Any],
                      max_tokens: int = 512) -> dict[str, Any]:
        return _json_from(self.chat(messages, max_tokens=max_tokens, schema=schema))


def controller_model_path(name: str) -> Path:
    """Resolve a controller setting (pack name, .gguf path, or hub:<repo>/<file>) to a local file."""
    if name in CONTROLLER_MODELS:
        repo, filename = CONTROLLER_MODELS[name]
    elif name.startswith("hub:"):
        repo, _, filename = name[4:].rpartition("/")
    else:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ControllerError(f"controller model file not found: {path}")
        return path
    from core.models import hub

    try:
        return hub.model_path(repo, filename)
    except hub.ModelMissing as e:
        raise ControllerError(str(e)) from e


def load_controller(settings: Settings | None = None) -> Controller:
    """The controller the settings ask for: an endpoint when one is set, else a local GGUF."""
    settings = settings or Settings()
    if settings.endpoint_url:
        key = ""
        if settings.endpoint_key_in_keyring:
            from core.config.secrets import get_endpoint_key

            key = get_endpoint_key(settings.endpoint_url) or ""
        return OpenAICompatController(settings.endpoint_url, settings.endpoint_model, key)
    path = controller_model_path(settings.controller)
    n_gpu = 0 if settings.device == "cpu" else None
    return LlamaCppController(path, n_ctx=settings.context_tokens, n_threads=settings.threads,
                              n_gpu_layers=n_gpu, name=settings.controller)
