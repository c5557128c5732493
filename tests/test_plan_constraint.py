"""The decode-time modality mask: a plan cannot refer to an output of the wrong kind, nor start a
task whose image/audio input nothing can supply. Driven token by token with a small vocabulary."""

from __future__ import annotations

import numpy as np

from core.plan_constraint import PlanConstraint

NAMES = ["summarization", "image-classification", "automatic-speech-recognition", "text-to-speech",
         "text-to-image"]
# A toy vocabulary: whole task names (with a leading space), their pieces, args, refs, digits.
PIECES = ["", "\n", "1", "2", "3", " summarization", " image-classification", " automatic", "-speech",
          "-recognition", " automatic-speech-recognition", " text-to-speech", " text-to-image", " image",
          " text", " audio", "=<", "=", "<", ">", '"', "a.jpg", "hello", " ", "image"]
ID = {p: i for i, p in enumerate(PIECES)}


def _allowed(constraint: PlanConstraint, prompt_len: int, written: list[str]) -> set[str]:
    ids = np.array([0] * prompt_len + [ID[p] for p in written], dtype=np.intc)
    scores = constraint(ids, np.zeros(len(PIECES), dtype=np.float32))
    return {PIECES[i] for i in range(len(PIECES)) if np.isfinite(scores[i])}


def _fresh(media: dict[str, list[str]]) -> PlanConstraint:
    c = PlanConstraint(NAMES, media, PIECES)
    c(np.zeros(5, dtype=np.intc), np.zeros(len(PIECES), dtype=np.float32))  # the prompt: 5 tokens
    return c


def test_a_task_needing_audio_is_not_offered_without_audio():
    c = _fresh({"image": ["a.jpg"]})
    allowed = _allowed(c, 5, ["1"])
    assert " image-classification" in allowed and " summarization" in allowed
    assert " automatic-speech-recognition" not in allowed and " automatic" not in allowed


def test_audio_from_an_earlier_task_makes_speech_recognition_possible():
    c = _fresh({})
    plan = ["1", " text-to-speech", " text", "=", '"', "hello", '"', "\n", "2"]
    allowed = _allowed(c, 5, plan)
    assert " automatic-speech-recognition" in allowed and " automatic" in allowed


def test_a_ref_must_point_to_an_output_of_the_right_kind():
    c = _fresh({"image": ["a.jpg"]})
    # 1 makes an image, 2 makes audio; task 3 (speech recognition) may only take <2>
    plan = ["1", " text-to-image", " text", "=", '"', "hello", '"', "\n",
            "2", " text-to-speech", " text", "=", '"', "hello", '"', "\n",
            "3", " automatic-speech-recognition", " audio", "=<"]
    allowed = _allowed(c, 5, plan)
    assert "2" in allowed and "1" not in allowed
    # a summary of task 1's image is not possible either: text needs a text output
    c2 = _fresh({"image": ["a.jpg"]})
    plan2 = ["1", " text-to-image", " text", "=", '"', "hello", '"', "\n", "2", " summarization", " text", "=<"]
    assert "1" not in _allowed(c2, 5, plan2)


def test_quoted_text_is_never_masked():
    c = _fresh({})
    plan = ["1", " summarization", " text", "=", '"']
    assert _allowed(c, 5, plan) == set(PIECES)


def test_the_mask_leaves_a_way_forward_at_every_step():
    """Whatever a plan has written, some name and some ref stay possible (no dead end)."""
    c = _fresh({"image": ["a.jpg"]})
    plan = ["1", " image-classification", " image", "=", '"', "a.jpg", '"', "\n", "2"]
    assert _allowed(c, 5, plan) & {" summarization", " text-to-speech", " image-classification"}
    plan += [" text-to-speech", " text", "=<"]
    assert "1" in _allowed(c, 5, plan)


def test_after_a_feedable_name_its_args_may_follow():
    c = _fresh({"image": ["a.jpg"]})
    allowed = _allowed(c, 5, ["1", " image-classification"])
    assert " image" in allowed and " text" in allowed  # the grammar, not the mask, picks the arg
