"""sentence-similarity, feature-extraction and zero-shot classification with sentence-transformers
models; the vectors come from core/llm/encoder.py (the same pooled encoder the planner uses)."""

from __future__ import annotations

from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import save_json, text_arg
from core.llm import encoder
from core.results import TaskOutput

# Zero-shot by embeddings: each label becomes a short hypothesis sentence, and the text's cosine with
# each hypothesis ranks them. Scores are a softmax over cosines / TEMPERATURE (readable, sum to 1).
HYPOTHESIS = "This text is about {}."
TEMPERATURE = 0.05


def describe(score: float) -> str:
    if score >= 0.75:
        return "very similar"
    if score >= 0.5:
        return "similar"
    if score >= 0.25:
        return "loosely related"
    return "unrelated"


class SentenceEmbeddingRunner(Runner):
    runtime = "sentence-embedding"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
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
        folder = self.folder(ctx)
        choice = self.device(ctx)
        ctx.check_cancel()
        # the encoder's own pool key: one loaded MiniLM whoever asks (this runner or the planner)
        with self.timed(ctx, encoder.lease(folder, choice, ctx.model.size_bytes)) as lease:
            vectors, truncated = lease.model.encode(texts)
        meta = {"device": choice.device, "device_why": choice.why, "dtype": choice.dtype, "model_loaded": lease.loaded,
                "load_s": round(lease.load_s, 3), "truncated": truncated, "max_tokens": lease.model.max_tokens}
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
