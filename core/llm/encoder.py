"""Sentence vectors from a sentence-transformers model (MiniLM): for the planner's retrieval and
grounding, and for the sentence-similarity / feature-extraction / zero-shot runner.

Vectors are the mean of the token vectors (padding excluded), L2-normalised, so the cosine of two
sentences is a dot product: the pooling all-MiniLM-L6-v2 was trained with (its 1_Pooling config
says mean pooling), in NumPy on the CPU (bert_numpy.py) or in torch elsewhere. One pooled
instance per process, whoever asks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import hardware
from core.errors import RunnerError
from core.models.locate import folder_bytes
from core.models.pool import default_pool


@dataclass
class _Encoder:
    tokenizer: Any
    model: Any
    device: str
    max_tokens: int

    def encode(self, texts: list[str]) -> tuple[Any, list[bool]]:
        """(normalised vectors [n, dim] on the CPU, whether each text was cut to max_tokens)."""
        import torch

        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                               return_tensors="pt", return_overflowing_tokens=False)
        full = self.tokenizer(texts, truncation=False)["input_ids"]
        truncated = [len(ids) > self.max_tokens for ids in full]
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        mean = summed / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, p=2, dim=1).cpu(), truncated


def _load_encoder(folder: Path, choice: Any) -> Any:
    """On the CPU a plain BERT (MiniLM) runs in NumPy (core/llm/bert_numpy.py: no torch import,
    and the planner works in the bundle without torch); anything else through transformers."""
    from core.llm import bert_numpy

    if choice.device == "cpu" and bert_numpy.supports(folder):
        return bert_numpy.load(folder, _max_tokens(folder, None))
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # CLI output (`main.py plan`) stays clean
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModel.from_pretrained(str(folder), dtype=hardware.torch_dtype(choice), use_safetensors=True)
    except (OSError, ValueError) as e:
        raise RunnerError(f"could not load {folder.name}: {e}") from None
    model.to(choice.device).eval()
    return _Encoder(tokenizer, model, choice.device, _max_tokens(folder, tokenizer))


def lease(folder: Path, choice: Any, size_bytes: int = 0) -> Any:
    """The pooled encoder for `folder`: one instance per process, whoever asks (runner or planner)."""
    key = f"sentence-embedding:{folder}:{choice.device}:{choice.dtype}"
    return default_pool().use(key, lambda: _load_encoder(folder, choice), size_bytes or folder_bytes(folder))


def encode(folder: Path, texts: list[str], device: str = "cpu") -> Any:
    """Normalised sentence vectors (numpy, [n, dim]) from the model in `folder`, through the pool."""
    with lease(folder, hardware.choose_device(device)) as held:
        vectors, _ = held.model.encode(texts)
    return vectors.numpy() if hasattr(vectors, "numpy") else vectors


def _max_tokens(folder: Any, tokenizer: Any) -> int:
    """The sequence length the model was trained for (sentence_bert_config.json), else the tokenizer's."""
    import json

    cfg = folder / "sentence_bert_config.json"
    if cfg.is_file():
        try:
            return int(json.loads(cfg.read_text(encoding="utf-8"))["max_seq_length"])
        except (ValueError, KeyError, TypeError):
            pass
    limit = getattr(tokenizer, "model_max_length", 512)
    return int(limit) if isinstance(limit, int) and limit < 100_000 else 512
