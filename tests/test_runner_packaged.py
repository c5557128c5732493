"""Real inference with every packaged expert model, asserting meaning (not just shapes)."""

from __future__ import annotations

import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import known_models
from tests.runner_support import ensure_packaged, make_ctx


def _default(task: str):
    entry = known_models.default_for(task)
    assert entry is not None, task
    return entry


def _run(task: str, inputs: dict, session):
    entry = _default(task)
    return get_runner(entry.runtime).run(make_ctx(entry, session), inputs)


def _save(image, path):
    image.save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("photo, expected", [
    ("chelsea", {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}),
    ("coffee", {"espresso", "cup", "coffee mug"}),
])
def test_image_classification_names_what_the_photo_shows(tmp_path, photo, expected):
    from PIL import Image
    from skimage import data

    path = _save(Image.fromarray(getattr(data, photo)()), tmp_path / f"{photo}.png")
    out = _run("image-classification", {"image": path}, tmp_path / "s")
    top = out.data["labels"][0]
    assert top["label"] in expected, out.text
    assert top["score"] > 0.3 and len(out.data["labels"]) == 5
    assert out.text.startswith(top["label"])


@pytest.mark.slow
def test_ocr_reads_drawn_text(tmp_path):
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    draw.text((40, 40), "Invoice No. 4521", fill="black", font=font)
    draw.text((40, 140), "Total: $1,234.56", fill="black", font=font)
    path = _save(image, tmp_path / "invoice.png")
    ctx = make_ctx(_default("optical-character-recognition"), tmp_path / "s")
    out = get_runner("rapidocr").run(ctx, {"image": path})
    flat = out.text.replace(" ", "")
    assert "4521" in flat and "1,234.56" in flat, out.text
    assert out.text.index("4521") < out.text.index("1,234")  # reading order: top line first
    boxes = out.file_of("image")
    assert boxes is not None and boxes.path.parent == ctx.artifacts_dir.resolve()
    assert Image.open(boxes.path).size == image.size


@pytest.mark.slow
def test_ocr_on_a_blank_image_finds_nothing(tmp_path):
    from PIL import Image

    path = _save(Image.new("RGB", (300, 200), "white"), tmp_path / "blank.png")
    out = _run("optical-character-recognition", {"image": path}, tmp_path / "s")
    assert out.data["lines"] == [] and out.files == []


@pytest.mark.slow
def test_tts_audio_is_heard_back_by_whisper(tmp_path):
    import soundfile as sf

    sentence = "The animal in this photo is a cat. It is sleeping on a red sofa."
    out = _run("text-to-speech", {"text": sentence}, tmp_path / "s")
    wav = out.file_of("audio")
    assert wav is not None and wav.path.suffix == ".wav"
    info = sf.info(wav.path)
    assert info.samplerate == 22050 and 2.0 < info.duration < 10.0
    asr = _default("automatic-speech-recognition")
    ensure_packaged(asr)
    heard = get_runner("faster-whisper").run(make_ctx(asr, tmp_path / "s2"), {"audio": wav.path}).text.lower()
    for word in ("animal", "photo", "cat", "sleeping", "red", "sofa"):
        assert word in heard, heard


@pytest.mark.slow
def test_ner_finds_organisation_place_and_person(tmp_path):
    out = _run("token-classification",
               {"text": "Tim Cook said Apple will open a new office in Berlin next year."}, tmp_path / "s")
    found = {(e["text"], e["label"]) for e in out.data["entities"]}
    assert {("Apple", "ORG"), ("Berlin", "GPE"), ("Tim Cook", "PERSON")} <= found, found


def test_sentiment_positive_and_negative(tmp_path):
    bad = _run("text-classification", {"text": "The battery died after an hour. Awful!"}, tmp_path / "s")
    good = _run("text-classification", {"text": "I love this phone, the screen is wonderful."}, tmp_path / "s")
    assert bad.data["label"] == "negative" and bad.data["compound"] < -0.5
    assert good.data["label"] == "positive" and good.data["compound"] > 0.5


def test_apertium_translates_english_to_spanish_and_back(tmp_path):
    es = _run("translation", {"text": "The weather is nice today.", "src_lang": "English", "tgt_lang": "es"},
              tmp_path / "s")
    assert "tiempo" in es.text.lower() and "hoy" in es.text.lower(), es.text
    assert es.data["pair"] == "eng-spa"
    en = _run("translation", {"text": "El gato duerme en la casa.", "tgt_lang": "English"}, tmp_path / "s")
    assert "cat" in en.text.lower() and "house" in en.text.lower(), en.text
    assert en.data["pair"] == "spa-eng"


def test_apertium_unknown_language_is_a_clear_error(tmp_path):
    with pytest.raises(RunnerError, match="Klingon"):
        _run("translation", {"text": "hello", "tgt_lang": "Klingon"}, tmp_path / "s")


@pytest.mark.parametrize("task", ["image-classification", "optical-character-recognition"])
def test_text_file_given_as_image_is_refused(tmp_path, task):
    fake = tmp_path / "photo.png"
    fake.write_text("not really a picture\n")
    with pytest.raises(RunnerError, match="not an image"):
        _run(task, {"image": fake}, tmp_path / "s")


def test_tts_refuses_empty_and_oversized_text(tmp_path):
    with pytest.raises(RunnerError, match="missing or empty"):
        _run("text-to-speech", {"text": "   "}, tmp_path / "s")
    with pytest.raises(RunnerError, match="too long"):
        _run("text-to-speech", {"text": "word " * 5000}, tmp_path / "s")


def test_every_packaged_default_is_installed_here():
    from core.models.locate import is_available

    missing = [m.id for m in known_models.RUNNABLE if (m.pack or m.options.get("python_package")
                                                       or m.options.get("command")) and not is_available(m)]
    assert missing == []


@pytest.mark.slow
def test_what_animal_said_out_loud_chain(tmp_path):
    """The runner chain behind "What animal is in this photo? Say it out loud": classification's
    text feeds TTS (as the executor passes a text resource), and whisper hears the animal."""
    from PIL import Image
    from skimage import data

    photo = _save(Image.fromarray(data.chelsea()), tmp_path / "cat.png")
    label = _run("image-classification", {"image": photo}, tmp_path / "s").data["labels"][0]["label"]
    spoken = _run("text-to-speech", {"text": f"The animal in the photo is a {label}."}, tmp_path / "s")
    asr = _default("automatic-speech-recognition")
    ensure_packaged(asr)
    heard = get_runner("faster-whisper").run(make_ctx(asr, tmp_path / "s2"),
                                             {"audio": spoken.file_of("audio").path}).text.lower()
    assert "cat" in heard, (label, heard)


def test_missing_python_package_names_the_pip_line(tmp_path):
    from core.models.entry import ModelEntry
    from core.models.locate import is_available

    entry = ModelEntry("local:nothing", "optical-character-recognition", "rapidocr",
                       options={"python_package": "no_such_model_package_xyz", "pip": "no-such-model==1.0"})
    assert not is_available(entry)
    photo = tmp_path / "p.png"
    from PIL import Image

    Image.new("RGB", (40, 40), "white").save(photo)
    with pytest.raises(RunnerError, match=r"pip install no-such-model==1.0"):
        get_runner("rapidocr").run(make_ctx(entry, tmp_path / "s"), {"image": photo})
