"""A BERT encoder (all-MiniLM-L6-v2 and its kin) in NumPy: tokenizers + safetensors + matmuls.

The planner embeds every request and step with MiniLM; through transformers that meant importing
torch (seconds of the engine's warm-up, hundreds of MB) and it could not run at all in the base
bundle, which leaves torch out. The forward pass of a 6-layer, 384-wide BERT is a few dozen
matrix products, so it is written here once; tests pin it to transformers' output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def supports(folder: Path) -> bool:
    """A plain BERT with absolute positions and GELU, weights as safetensors, a fast tokenizer."""
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (cfg.get("model_type") == "bert" and cfg.get("hidden_act") == "gelu"
            and cfg.get("position_embedding_type", "absolute") == "absolute"
            and (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file())


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): NumPy has no erf, and BERT's GELU is the erf one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class NumpyBert:
    def __init__(self, folder: Path, max_tokens: int) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        raw = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if any(k.startswith("bert.") for k in raw) else ""
        # Dense weights stored transposed once (x @ W), embeddings as they are.
        self.w = {k[len(prefix):]: np.ascontiguousarray(v.T if k.endswith("dense.weight") or ".self." in k
                                                        and k.endswith(".weight") else v, dtype=np.float32)
                  for k, v in raw.items() if k.startswith(prefix)}
        self.max_tokens = min(max_tokens, int(cfg.get("max_position_embeddings", 512)))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def encode(self, texts: list[str]) -> tuple[np.ndarray, list[bool]]:
        """(L2-normalised mean-pooled vectors [n, dim], whether each text was cut to max_tokens)."""
        # These matrices are small: OpenBLAS's threads cost more than they give (measured: a 11x384 by
        # 384x384 product 0.08 ms on one thread, 24 ms on two beside llama.cpp on 2 busy cores).
        with _one_blas_thread():
            return self._encode(texts)

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, list[bool]]:
        encodings = self.tokenizer.encode_batch(list(texts))
        truncated = [len(e.ids) > self.max_tokens for e in encodings]
        ids = [e.ids[: self.max_tokens - 1] + [e.ids[-1]] if len(e.ids) > self.max_tokens else e.ids
               for e in encodings]  # keep [SEP] last, as the tokenizer's own truncation does
        length = max(len(i) for i in ids)
        batch = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for row, seq in enumerate(ids):
            batch[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][batch] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        n, seq_len, dim = x.shape
        head = dim // self.heads
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(n, seq_len, self.heads, head).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n, seq_len, dim)
            x = _layer_norm(x + self._linear(ctx, f"{p}.attention.output.dense"),
                            w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"],
                            self.eps)
            inner = self._linear(x, f"{p}.intermediate.dense")
            inner = 0.5 * inner * (1.0 + _erf(inner / np.sqrt(2.0)))
            x = _layer_norm(x + self._linear(inner, f"{p}.output.dense"),
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps)
        summed = (x * mask[:, :, None]).sum(1)
        mean = summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12), truncated


def _one_blas_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a bundle without it: NumPy's default threads
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def load(folder: Path, max_tokens: int) -> Any:
    return NumpyBert(folder, max_tokens)
