"""Runner registry: runtime name -> module path of a class with `runtime` and `run()`.

Modules are imported only when a task needs them, so heavy libraries load lazily."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

# runtime -> "module:Class"; each runner module adds itself here (one line).
REGISTRY: dict[str, str] = {
    "llm": "core.execution.runners.llm_expert:LLMRunner",
    "faster-whisper": "core.execution.runners.whisper:WhisperRunner",
    "sentence-embedding": "core.execution.runners.embedding:SentenceEmbeddingRunner",
    "rapidocr": "core.execution.runners.rapidocr:RapidOCRRunner",
    "piper-onnx": "core.execution.runners.piper:PiperRunner",
    "spacy": "core.execution.runners.spacy_ner:SpacyRunner",
    "efficientnet-lite": "core.execution.runners.efficientnet:EfficientNetRunner",
    "vader": "core.execution.runners.vader:VaderRunner",
    "apertium": "core.execution.runners.apertium:ApertiumRunner",
    "transformers": "core.execution.runners.transformers_runner:TransformersRunner",
    "diffusers": "core.execution.runners.diffusion:DiffusersRunner",
    "remote": "core.execution.runners.remote:RemoteRunner",
    "ocr-llm": "core.execution.runners.ocr_qa:OcrQaRunner",
    "mediapipe": "core.execution.runners.mediapipe_vision:MediaPipeRunner",
    "silero-vad": "core.execution.runners.silero_vad:SileroVadRunner",
    "style-onnx": "core.execution.runners.style_transfer:StyleTransferRunner",
    "opencv": "core.execution.runners.edges:EdgeMapRunner",
    "mediapipe-pose": "core.execution.runners.pose_control:PoseControlRunner",
    "nsnet2-onnx": "core.execution.runners.denoise:NSNet2Runner",
    "asteroid": "core.execution.runners.separation:AsteroidRunner",
    "hed": "core.execution.runners.hed:HedRunner",
    "controlnet": "core.execution.runners.controlnet:ControlNetRunner",
    "diffusers-video": "core.execution.runners.video:TextToVideoRunner",
    "sklearn": "core.execution.runners.tabular:TabularRunner",
}


@cache
def get_runner(runtime: str) -> Any:
    if runtime not in REGISTRY:
        raise KeyError(f"no runner for runtime '{runtime}'")
    module_name, cls_name = REGISTRY[runtime].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls()
