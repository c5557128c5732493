"""The experts that run offline by pairing a packaged model with the controller LLM (real models).

fill-mask and document question answering have no packaged model of their own; the controller
fills the word, and RapidOCR + the controller read a page and answer from it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.plan import Task
from core.runners import get_runner
from core.runners.base import RunnerError
from core.settings import Settings
from tests.runner_support import make_ctx

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def controller():
    from core.llm import load_controller

    return load_controller(Settings())


def _ctx(task: str, session, controller):
    """A context for the model the selector picks offline (what a user here would get)."""
    from core.selector import select

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
    from core.selector import select

    for task, args, runtime in (("fill-mask", {"text": "A [MASK] day."}, "llm"),
                                ("document-question-answering", {"image": "a.png", "question": "Total?"},
                                 "ocr-llm")):
        chosen = select(Task(1, task, [], args), "req", settings=Settings(offline=True))
        assert chosen.model.runtime == runtime and not chosen.needs_download, (task, chosen.reason)
