"""Runner registry: runtime name -> module path of a class with `runtime` and `run()`.

Modules are imported only when a task needs them, so heavy libraries load lazily."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

# runtime -> "module:Class"; each runner module adds itself here (one line).
REGISTRY: dict[str, str] = {
    "llm": "core.runners.llm_expert:LLMRunner",
    "faster-whisper": "core.runners.whisper:WhisperRunner",
    "sentence-embedding": "core.runners.embedding:SentenceEmbeddingRunner",
    "rapidocr": "core.runners.rapidocr:RapidOCRRunner",
    "piper-onnx": "core.runners.piper:PiperRunner",
    "spacy": "core.runners.spacy_ner:SpacyRunner",
    "efficientnet-lite": "core.runners.efficientnet:EfficientNetRunner",
    "vader": "core.runners.vader:VaderRunner",
    "apertium": "core.runners.apertium:ApertiumRunner",
    "transformers": "core.runners.transformers_runner:TransformersRunner",
    "diffusers": "core.runners.diffusion:DiffusersRunner",
    "remote": "core.runners.remote:RemoteRunner",
    "ocr-llm": "core.runners.ocr_qa:OcrQaRunner",
    "mediapipe": "core.runners.mediapipe_vision:MediaPipeRunner",
    "silero-vad": "core.runners.silero_vad:SileroVadRunner",
    "style-onnx": "core.runners.style_transfer:StyleTransferRunner",
    "opencv": "core.runners.edges:EdgeMapRunner",
    "mediapipe-pose": "core.runners.pose_control:PoseControlRunner",
    "nsnet2-onnx": "core.runners.denoise:NSNet2Runner",
    "asteroid": "core.runners.separation:AsteroidRunner",
    "hed": "core.runners.hed:HedRunner",
    "controlnet": "core.runners.controlnet:ControlNetRunner",
    "diffusers-video": "core.runners.video:TextToVideoRunner",
    "sklearn": "core.runners.tabular:TabularRunner",
}


@cache
def get_runner(runtime: str) -> Any:
    if runtime not in REGISTRY:
        raise KeyError(f"no runner for runtime '{runtime}'")
    module_name, cls_name = REGISTRY[runtime].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls()
