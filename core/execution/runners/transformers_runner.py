"""The generic transformers runner (runtime "transformers"): any Hub model of a supported architecture.

Tasks with a transformers pipeline use it; tasks whose pipeline left transformers 5 (summarization,
translation, extractive question-answering, captioning, visual QA) are a few lines of generate() or
logits code in core/execution/runners/hf_tasks.py. Safety: never trust_remote_code, safetensors only unless the
user allowed pickle weights for that model id (settings.allow_pickle_models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import hardware
from core.errors import Cancelled, RunnerError
from core.execution.runners import hf_tasks
from core.execution.runners.base import RunContext, Runner
from core.results import TaskOutput

# How each task of the "transformers" row runs. Maestro task -> transformers pipeline task; tasks
# not listed load as plain model + processor (hf_tasks.HANDLERS has the code of every task).
PIPELINE_TASKS = {
    "image-classification": "image-classification",
    "object-detection": "object-detection",
    "image-segmentation": "image-segmentation",
    "depth-estimation": "depth-estimation",
    "document-question-answering": "document-question-answering",
    "zero-shot-classification": "zero-shot-classification",
    "text-classification": "text-classification",
    "token-classification": "token-classification",
    "text-generation": "text-generation",
    "fill-mask": "fill-mask",
    "audio-classification": "audio-classification",
    "automatic-speech-recognition": "automatic-speech-recognition",
    "text-to-speech": "text-to-audio",
    "zero-shot-image-classification": "zero-shot-image-classification",
    "seg-control": "image-segmentation",  # semantic masks, coloured with ControlNet's ADE20K palette
}
MODEL_TASKS = ("summarization", "translation", "question-answering", "image-to-text",
               "visual-question-answering")
EMBEDDING_TASKS = ("feature-extraction", "sentence-similarity")  # mean-pooled: the sentence-embedding runner


@dataclass
class Loaded:
    """What the pool keeps for one model: a pipeline, or a model with its processor/tokenizer."""

    device: str
    pipe: Any = None
    model: Any = None
    processor: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def weights_policy(folder: Path, model_id: str, settings: dict[str, Any]) -> bool:
    """True to require safetensors. Refuses a pickle-only model unless the user opted in for it."""
    if any(folder.rglob("*.safetensors")):
        return True
    pickles = [p.name for p in folder.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
    if not pickles:
        raise RunnerError(f"{model_id} has no weights file (safetensors) in {folder.name}")
    if model_id in (settings.get("allow_pickle_models") or []):
        return False
    raise RunnerError(f"{model_id} only has pickle weights ({', '.join(sorted(pickles)[:3])}), which can run "
                      "code when loaded; Maestro refuses them unless you allow this model in "
                      "Settings -> allow pickle models")


def _cap_length(tokenizer: Any, config: Any) -> None:
    """Some Hub tokenizers carry no model_max_length (a huge sentinel); truncation then overflows.
    The model's position table is the real limit."""
    limit = getattr(tokenizer, "model_max_length", None)
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if isinstance(limit, int) and limit > 1_000_000 and isinstance(positions, int):
        tokenizer.model_max_length = positions


def load(task: str, folder: Path, model_id: str, choice: hardware.DeviceChoice, settings: dict[str, Any]) -> Loaded:
    """Load model + processor for `task` on the chosen device (called by the pool when cold)."""
    import transformers as tf

    safe = weights_policy(folder, model_id, settings)
    kwargs: dict[str, Any] = {"use_safetensors": True} if safe else {}
    dtype = hardware.torch_dtype(choice)
    path = str(folder)
    try:
        if task in PIPELINE_TASKS:
            pipe = tf.pipeline(PIPELINE_TASKS[task], model=path, device=choice.device, dtype=dtype,
                               trust_remote_code=False, model_kwargs=kwargs)
            if pipe.tokenizer is not None:
                _cap_length(pipe.tokenizer, pipe.model.config)
            return Loaded(choice.device, pipe=pipe, model=pipe.model)
        auto = {"summarization": tf.AutoModelForSeq2SeqLM, "translation": tf.AutoModelForSeq2SeqLM,
                "question-answering": tf.AutoModelForQuestionAnswering,
                "image-to-text": tf.AutoModelForImageTextToText,
                "visual-question-answering": tf.AutoModelForVisualQuestionAnswering}[task]
        if task in ("summarization", "translation", "question-answering"):
            processor = tf.AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        else:
            processor = tf.AutoProcessor.from_pretrained(path, trust_remote_code=False)
        model = auto.from_pretrained(path, dtype=dtype, trust_remote_code=False, **kwargs)
        model.to(choice.device).eval()
        _cap_length(getattr(processor, "tokenizer", processor), getattr(model.config, "text_config", model.config))
        return Loaded(choice.device, model=model, processor=processor)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RunnerError(f"could not load {model_id} for {task}: {str(e).splitlines()[0][:300]}") from None


class TransformersRunner(Runner):
    runtime = "transformers"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        task = ctx.task
        if task in EMBEDDING_TASKS:  # mean-pooled sentence vectors: the sentence-embedding runner's job
            from core.execution.runners.embedding import SentenceEmbeddingRunner

            return SentenceEmbeddingRunner().run(ctx, inputs)
        handler = hf_tasks.HANDLERS[task]  # one for each other task of the row (a test checks it)
        prepared = handler.prepare(ctx, inputs)  # inputs decoded and checked before any model loads
        folder = self.folder(ctx)
        choice = self.device(ctx)
        ctx.check_cancel()
        with self.model(ctx, lambda: load(task, folder, ctx.model.id, choice, ctx.settings), folder=folder,
                        device=choice, variant=(task,)) as lease:
            ctx.progress(None, f"running {ctx.model.id}")
            try:
                out = handler.run(ctx, lease.model, prepared)
                out.data["model_dtype"] = str(getattr(lease.model.model, "dtype", "")).replace("torch.", "")
            except (RunnerError, Cancelled):
                raise
            except (ValueError, RuntimeError, IndexError, KeyError) as e:
                raise RunnerError(f"{ctx.model.id} failed on this input: {str(e).splitlines()[0][:300]}") from None
        out.data.update({"device": choice.device, "device_why": choice.why, "dtype": choice.dtype})
        return out
