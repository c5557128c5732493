"""sentence-similarity and feature-extraction with sentence-transformers models loaded by transformers.

Sentence vectors are the mean of the token vectors (padding excluded), L2-normalised, so the cosine
similarity of two sentences is a dot product. That is the pooling all-MiniLM-L6-v2 was trained with
(its 1_Pooling config says mean pooling), done here in a few lines of torch, or in NumPy on the CPU
(bert_numpy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import hardware
from core.errors import RunnerError
from core.execution.runners.base import RunContext
from core.execution.runners.locate import folder_bytes, model_dir
from core.execution.runners.media import save_json, text_arg
from core.models.pool import default_pool
from core.results import TaskOutput

TASKS = ("sentence-similarity", "feature-extraction", "zero-shot-classification")
# Zero-shot by embeddings: each label becomes a short hypothesis sentence, and the text's cosine with
# each hypothesis ranks them. Scores are a softmax over cosines / TEMPERATURE (readable, sum to 1).
HYPOTHESIS = "This text is about {}."
TEMPERATURE = 0.05


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


def _lease(folder: Path, choice: Any, size_bytes: int = 0) -> Any:
    """The pooled encoder for `folder`: one instance per process, whoever asks (runner or planner)."""
    key = f"{SentenceEmbeddingRunner.runtime}:{folder}:{choice.device}:{choice.dtype}"
    return default_pool().use(key, lambda: _load_encoder(folder, choice), size_bytes or folder_bytes(folder))


def encode(folder: Path, texts: list[str], device: str = "cpu") -> Any:
    """Normalised sentence vectors (numpy, [n, dim]) from the model in `folder`, through the pool."""
    with _lease(folder, hardware.choose_device(device)) as lease:
        vectors, _ = lease.model.encode(texts)
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


def describe(score: float) -> str:
    if score >= 0.75:
        return "very similar"
    if score >= 0.5:
        return "similar"
    if score >= 0.25:
        return "loosely related"
    return "unrelated"


class SentenceEmbeddingRunner:
    runtime = "sentence-embedding"

    def run(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        if ctx.task not in TASKS:
            raise RunnerError(f"the sentence-embedding runner cannot do '{ctx.task}'")
        texts = [text_arg(inputs, "text")]
        labels: list[str] = []
        if ctx.task == "sentence-similarity":
            texts.append(text_arg(inputs, "text2"))
        elif ctx.task == "zero-shot-classification":
            raw = text_arg(inputs, "labels", 2000)
            labels = list(dict.fromkeys(x.strip() for x in raw.replace(";", ",").split(",") if x.strip()))
            if len(labels) < 2:
                raise RunnerError("'labels' needs at least two candidate labels, separated by commas")
            texts += [HYPOTHESIS.format(label) for label in labels]
        folder = model_dir(ctx.model)
        choice = hardware.choose_device(hardware.run_preference(ctx.device, ctx.settings))
        ctx.check_cancel()
        with _lease(folder, choice, ctx.model.size_bytes) as lease:
            vectors, truncated = lease.model.encode(texts)
        meta = {"device": choice.device, "device_why": choice.why, "dtype": choice.dtype, "model_loaded": lease.loaded,
                "load_s": round(lease.load_s, 3), "truncated": truncated,
                "max_tokens": lease.model.max_tokens}
        note = " (long text cut to the model's length)" if any(truncated) else ""
        if ctx.task == "zero-shot-classification":
            cosines = (vectors[1:] @ vectors[0]).tolist()
            import math

            exps = [math.exp((c - max(cosines)) / TEMPERATURE) for c in cosines]
            ranked = sorted(({"label": lab, "score": round(e / sum(exps), 4), "cosine": round(c, 4)}
                             for lab, e, c in zip(labels, exps, cosines, strict=True)), key=lambda r: -r["score"])
            text = ", ".join(f"{r['label']} ({r['score']:.2f})" for r in ranked[:3])
            return TaskOutput(text=text, data={"labels": ranked, "label": ranked[0]["label"], **meta})
        if ctx.task == "sentence-similarity":
            score = float((vectors[0] * vectors[1]).sum())
            return TaskOutput(text=f"cosine similarity {score:.3f} ({describe(score)}){note}",
                              data={"score": round(score, 4), "verdict": describe(score), **meta})
        vector = [round(float(x), 6) for x in vectors[0]]
        artifact = save_json(ctx, {"model": ctx.model.id, "dim": len(vector), "normalized": True,
                                   "embedding": vector})
        head = ", ".join(f"{x:.3f}" for x in vector[:4])
        return TaskOutput(text=f"{len(vector)}-dimensional embedding [{head}, ...]{note}",
                          files=[artifact], data={"dim": len(vector), **meta})
