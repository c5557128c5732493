"""Every transformers task through the full path: tiny model -> loopback Hub -> cache -> runner -> output.

THE WEIGHTS ARE RANDOM (tests/tiny_models.py): labels, captions and answers are noise. These tests
assert the mechanics only: the model downloads from a Hub-compatible server on 127.0.0.1, loads
from the HF cache with safetensors, runs through the same code as a real model, and writes the
artifact of the task's modality into the session folder."""

from __future__ import annotations

import json

import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import hub
from core.models.entry import ModelEntry
from core.models.pool import default_pool
from tests.hubserver import hub_server  # noqa: F401 - fixture
from tests.runner_support import make_ctx, speak
from tests.tiny_models import BUILDERS, MORE_ARCHITECTURES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A real photo, a drawn document and real synthetic speech, shared by the tests of this module."""
    from PIL import Image, ImageDraw, ImageFont
    from skimage import data

    folder = tmp_path_factory.mktemp("media")
    photo = folder / "cat.png"
    Image.fromarray(data.chelsea()).resize((150, 100)).save(photo)
    doc = Image.new("RGB", (640, 200), "white")
    draw = ImageDraw.Draw(doc)
    draw.text((30, 30), "Invoice number 4521", fill="black", font=ImageFont.load_default(size=36))
    draw.text((30, 110), "Total 99 euros", fill="black", font=ImageFont.load_default(size=36))
    doc_path = folder / "invoice.png"
    doc.save(doc_path)
    speech = speak("hello world, this is a test", folder / "speech.wav")
    return {"photo": photo, "doc": doc_path, "speech": speech}


def _inputs(task: str, media: dict) -> dict:
    text = "John said the cat sat on the red mat in Paris today."
    return {
        "image-classification": {"image": media["photo"]},
        "object-detection": {"image": media["photo"]},
        "image-segmentation": {"image": media["photo"]},
        "depth-estimation": {"image": media["photo"]},
        "image-to-text": {"image": media["photo"]},
        "visual-question-answering": {"image": media["photo"], "question": "what animal is this?"},
        "document-question-answering": {"image": media["doc"], "question": "what is the total?"},
        "zero-shot-classification": {"text": text, "labels": "animals, finance, sport"},
        "text-classification": {"text": "I love this great photo."},
        "token-classification": {"text": text},
        "fill-mask": {"text": "The cat sat on the [MASK]."},
        "question-answering": {"text": text, "question": "Where did the cat sit?"},
        "text-generation": {"text": "The weather today is"},
        "summarization": {"text": text * 3},
        "translation": {"text": "hello world", "tgt_lang": "de"},
        "feature-extraction": {"text": text},
        "sentence-similarity": {"text": text, "text2": "A cat on a mat."},
        "audio-classification": {"audio": media["speech"]},
        "automatic-speech-recognition": {"audio": media["speech"]},
        "text-to-speech": {"text": "hello world"},
    }[task]


OPTIONS = {
    "object-detection": {"threshold": 0.0, "max_objects": 5},  # random logits: keep some boxes to draw
    "text-generation": {"max_new_tokens": 8},
    "summarization": {"max_new_tokens": 8},
    "translation": {"max_new_tokens": 8, "pair": "en-de"},
    "image-to-text": {"max_new_tokens": 6},
}


def _served(hub_server, tmp_path, task: str, name: str = "", builder=None) -> ModelEntry:  # noqa: F811
    repo = f"maestro-test/tiny-{task}{name}"
    hub_server.add_folder(repo, (builder or BUILDERS[task])(tmp_path / "build" / task))
    snap = hub.get_model(repo)  # a real HTTP download into the (temporary) HF cache
    assert (snap / "config.json").is_file() and list(snap.glob("*.safetensors"))
    return ModelEntry(repo, task, "transformers", options=OPTIONS.get(task, {}))


@pytest.mark.parametrize("task", sorted(BUILDERS))
def test_task_runs_end_to_end_on_a_tiny_random_model(task, hub_server, tmp_path, media):  # noqa: F811
    entry = _served(hub_server, tmp_path, task)
    ctx = make_ctx(entry, tmp_path / "session")
    out = get_runner("transformers").run(ctx, _inputs(task, media))
    assert isinstance(out.text, str) and out.text
    assert out.data["model_loaded"] is True and out.data["device"] == "cpu"
    for f in out.files:  # every artifact lands in this session's artifacts folder
        assert f.path.parent == ctx.artifacts_dir.resolve() and f.path.stat().st_size > 0
    check = CHECKS.get(task)
    if check:
        check(out, ctx)


@pytest.mark.parametrize("task", sorted(MORE_ARCHITECTURES))
def test_default_model_architectures_run(task, hub_server, tmp_path, media):  # noqa: F811
    """YOLOS, Depth Anything, AST and Marian (opus-mt): architectures of RUNNABLE's Hub models."""
    builder = MORE_ARCHITECTURES[task]
    entry = _served(hub_server, tmp_path, task, "-" + builder.__name__, builder)
    ctx = make_ctx(entry, tmp_path / "session")
    out = get_runner("transformers").run(ctx, _inputs(task, media))
    assert out.text and out.data["model_loaded"]
    if task == "object-detection":
        assert _png(out, ctx).size == (150, 100)
        assert all(o["label"] in {"N/A", "cat", "dog"} for o in out.data["objects"])
    elif task == "depth-estimation":
        _check_depth(out, ctx)
    elif task == "translation":
        assert out.data["pair"] == "en-de"
    else:
        _check_labels({"speech", "music", "dog bark"})(out, ctx)


def _png(out, ctx):
    from PIL import Image

    art = out.file_of("image")
    assert art is not None and art.path.suffix == ".png"
    return Image.open(art.path)


def _check_detection(out, ctx):
    img = _png(out, ctx)
    assert img.size == (150, 100)
    assert 1 <= len(out.data["objects"]) <= 5
    for o in out.data["objects"]:
        assert o["label"] in {"N/A", "cat", "dog", "remote"} and len(o["box"]) == 4


def _check_segmentation(out, ctx):
    assert _png(out, ctx).size == (150, 100)
    assert out.data["segments"] and {s["label"] for s in out.data["segments"]} <= {"background", "cat", "sofa"}


def _check_depth(out, ctx):
    img = _png(out, ctx)
    assert img.mode == "L" and img.size == (150, 100)
    assert out.data["max"] >= out.data["min"]


def _check_labels(allowed):
    def check(out, ctx):
        assert {lab["label"] for lab in out.data["labels"]} <= allowed
        assert all(0.0 <= lab["score"] <= 1.0 for lab in out.data["labels"])
    return check


def _check_tts(out, ctx):
    import soundfile as sf

    art = out.file_of("audio")
    assert art is not None and art.path.suffix == ".wav"
    info = sf.info(art.path)
    assert info.samplerate == 16000 and info.frames > 0


def _check_embedding(out, ctx):
    art = out.file_of("json")
    vec = json.loads(art.path.read_text())["embedding"]
    assert len(vec) == 32 and abs(sum(x * x for x in vec) - 1.0) < 1e-3


def _check_qa(out, ctx):
    text = "John said the cat sat on the red mat in Paris today."
    assert out.data["answer"] == text[out.data["start"]:out.data["end"]].strip()  # a span of the context


def _check_vqa(out, ctx):
    assert out.data["answers"][0]["answer"] in {"yes", "no", "2", "cat", "red"}


def _check_docqa(out, ctx):
    # LayoutLM answers with a span of the words RapidOCR (a real model) read off the drawn invoice
    page = "Invoice number 4521 Total 99 euros".lower().replace(" ", "")
    assert out.data["answers"] and out.data["answers"][0]["answer"].lower().replace(" ", "") in page


def _check_similarity(out, ctx):
    assert -1.0 <= out.data["score"] <= 1.0


CHECKS = {
    "object-detection": _check_detection,
    "image-segmentation": _check_segmentation,
    "depth-estimation": _check_depth,
    "image-classification": _check_labels({"tabby cat", "golden retriever", "espresso"}),
    "audio-classification": _check_labels({"speech", "music", "dog bark"}),
    "zero-shot-classification": _check_labels({"animals", "finance", "sport"}),
    "text-classification": _check_labels({"NEGATIVE", "POSITIVE"}),
    "text-to-speech": _check_tts,
    "feature-extraction": _check_embedding,
    "question-answering": _check_qa,
    "visual-question-answering": _check_vqa,
    "document-question-answering": _check_docqa,
    "sentence-similarity": _check_similarity,
}


def test_second_request_is_served_warm(hub_server, tmp_path, media):  # noqa: F811
    entry = _served(hub_server, tmp_path, "image-classification", "-warm")
    runner = get_runner("transformers")
    first = runner.run(make_ctx(entry, tmp_path / "s1"), {"image": media["photo"]})
    loads = default_pool().loads
    second = runner.run(make_ctx(entry, tmp_path / "s2"), {"image": media["photo"]})
    assert first.data["model_loaded"] and not second.data["model_loaded"]
    assert default_pool().loads == loads and second.data["labels"] == first.data["labels"]


def test_pickle_only_model_is_refused_unless_allowed(hub_server, tmp_path, media):  # noqa: F811
    import transformers as tf

    folder = BUILDERS["text-classification"](tmp_path / "build")
    import torch

    model = tf.AutoModelForSequenceClassification.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")  # the old pickle format
    hub_server.add_folder("maestro-test/pickled", folder)
    # the downloader refuses pickle-only repos by default; an explicit file list gets it into the cache
    # anyway (as would a user copying files), so the runner must refuse on its own
    hub.get_model("maestro-test/pickled", files=["*"])
    entry = ModelEntry("maestro-test/pickled", "text-classification", "transformers")
    with pytest.raises(RunnerError, match="pickle"):
        get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"text": "nice"})
    allowed = make_ctx(entry, tmp_path / "s2")
    allowed.settings["allow_pickle_models"] = ["maestro-test/pickled"]  # the user opted in for this id
    out = get_runner("transformers").run(allowed, {"text": "nice"})
    assert out.data["label"] in {"NEGATIVE", "POSITIVE"}


def test_fixed_pair_translation_model_refuses_other_targets(hub_server, tmp_path, media):  # noqa: F811
    entry = _served(hub_server, tmp_path, "translation")
    with pytest.raises(RunnerError, match="en-de only"):
        get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"text": "hello", "tgt_lang": "fr"})


def test_multi_target_model_takes_a_prompt_per_target(hub_server, tmp_path):  # noqa: F811
    """T5-style: one model, a prompt prefix naming the target language (weights random: only routing)."""
    entry = _served(hub_server, tmp_path, "translation", "-t5style")
    entry.options = {"prefix": "translate English to {target}: ", "targets": {"de": "German", "fr": "French"},
                     "max_new_tokens": 4}
    out = get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"text": "hello", "tgt_lang": "French"})
    assert out.data["pair"] == "en-fr"
    with pytest.raises(RunnerError, match="German, French only"):
        get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"text": "hello", "tgt_lang": "Klingon"})


def test_bad_inputs_fail_before_download_or_load(tmp_path):
    entry = ModelEntry("maestro-test/never-downloaded", "image-classification", "transformers")
    bad = tmp_path / "x.png"
    bad.write_text("plain text")
    with pytest.raises(RunnerError, match="not an image"):
        get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"image": bad})
    qa = ModelEntry("maestro-test/never-downloaded", "zero-shot-classification", "transformers")
    with pytest.raises(RunnerError, match="at least two candidate labels"):
        get_runner("transformers").run(make_ctx(qa, tmp_path / "s"), {"text": "hi", "labels": "one"})


def test_model_not_downloaded_is_a_clear_error(tmp_path, media):
    entry = ModelEntry("maestro-test/never-downloaded", "image-classification", "transformers")
    with pytest.raises(RunnerError, match="not installed"):
        get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"image": media["photo"]})


@pytest.mark.parametrize("task", ["image-to-text", "visual-question-answering", "image-classification",
                                  "summarization"])
def test_half_precision_path_as_on_a_gpu(task, hub_server, tmp_path, media, monkeypatch):  # noqa: F811
    """On a GPU models load in float16; this runs the same load-and-infer path on the CPU in float16
    (the weights are really half precision) so dtype handling is exercised without a GPU."""
    from core.config import hardware

    monkeypatch.setattr(hardware, "choose_device", lambda pref=None: hardware.DeviceChoice("cpu", "float16", "test"))
    entry = _served(hub_server, tmp_path, task, "-fp16")
    out = get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), _inputs(task, media))
    assert out.data["dtype"] == "float16" and out.data["model_dtype"] == "float16" and out.text
