"""sentence-similarity / feature-extraction with the packaged all-MiniLM-L6-v2 (real model)."""

from __future__ import annotations

import json

import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import known_models
from tests.runner_support import ensure_packaged, make_ctx

SIM = known_models.default_for("sentence-similarity")
FEAT = known_models.default_for("feature-extraction")


def _similarity(tmp_path, a: str, b: str) -> float:
    out = get_runner("sentence-embedding").run(make_ctx(SIM, tmp_path / "s"), {"text": a, "text2": b})
    return out.data["score"]


@pytest.mark.slow
def test_similar_sentences_score_higher_than_unrelated(tmp_path):
    ensure_packaged(SIM)
    close = _similarity(tmp_path, "A man is riding a horse.", "Someone rides a horse.")
    far = _similarity(tmp_path, "A man is riding a horse.", "Quarterly revenue grew by four percent.")
    assert close > 0.7, close
    assert far < 0.25, far
    same = _similarity(tmp_path, "The cat sleeps on the sofa.", "The cat sleeps on the sofa.")
    assert same == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
def test_feature_extraction_writes_a_unit_vector(tmp_path):
    ensure_packaged(FEAT)
    ctx = make_ctx(FEAT, tmp_path / "s")
    out = get_runner("sentence-embedding").run(ctx, {"text": "Maestro runs models locally."})
    assert out.data["dim"] == 384
    art = out.file_of("json")
    assert art is not None and art.path.parent == ctx.artifacts_dir.resolve()
    vec = json.loads(art.path.read_text())["embedding"]
    assert len(vec) == 384
    assert sum(x * x for x in vec) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
def test_long_text_is_cut_and_said_so(tmp_path):
    ensure_packaged(FEAT)
    long = "word " * 2000
    out = get_runner("sentence-embedding").run(make_ctx(FEAT, tmp_path / "s"), {"text": long})
    assert out.data["truncated"] == [True] and "cut" in out.text


def test_missing_second_sentence_is_a_clear_error(tmp_path):
    with pytest.raises(RunnerError, match="'text2' is missing"):
        get_runner("sentence-embedding").run(make_ctx(SIM, tmp_path / "s"), {"text": "only one"})


def test_oversized_text_is_refused_before_loading(tmp_path):
    with pytest.raises(RunnerError, match="too long"):
        get_runner("sentence-embedding").run(make_ctx(FEAT, tmp_path / "s"), {"text": "x" * 60_000})


@pytest.mark.slow
@pytest.mark.parametrize("text, expected", [
    ("The striker scored twice in the final and the crowd went wild.", "sport"),
    ("Shares fell sharply after the bank reported lower quarterly profits.", "finance"),
    ("Whisk the eggs with sugar, then fold in the flour and bake for twenty minutes.", "cooking"),
])
def test_zero_shot_picks_the_right_topic(tmp_path, text, expected):
    entry = known_models.default_for("zero-shot-classification")
    assert entry.runtime == "sentence-embedding"
    ensure_packaged(entry)
    out = get_runner("sentence-embedding").run(make_ctx(entry, tmp_path / "s"),
                                               {"text": text, "labels": "sport, finance, cooking"})
    assert out.data["label"] == expected, out.text
    assert sum(r["score"] for r in out.data["labels"]) == pytest.approx(1.0, abs=1e-3)
