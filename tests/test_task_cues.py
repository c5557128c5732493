"""Tasks the request gives no cue for are not offered to the planner (core/task_cues.py)."""

from __future__ import annotations

import pytest

from core import planner_lines
from core.planner import Planner
from core.task_cues import uncued_tasks


@pytest.mark.parametrize("request_text", [
    "Say the answer out loud", "Read it out loud", "read the summary to me", "Turn this text into speech",
    "Make an audio version of the story", "Narrate the caption", "Give it a voice",
])
def test_speech_cues_open_text_to_speech(request_text):
    assert "text-to-speech" not in uncued_tasks(request_text)


@pytest.mark.parametrize("request_text", [
    "Classify this photo", "Summarize the article and translate it into French",
    "What is the capital of Peru?", "Describe the picture",
])
def test_no_speech_cue_no_text_to_speech(request_text):
    assert "text-to-speech" in uncued_tasks(request_text)


def test_object_detection_needs_objects_counting_or_finding():
    assert "object-detection" not in uncued_tasks("How many people are in this photo?")
    assert "object-detection" not in uncued_tasks("Find the cars")
    assert "object-detection" in uncued_tasks("Make this picture look like a watercolor")


def test_context_counts_as_a_cue():
    assert "text-to-speech" not in uncued_tasks("do it again", "- user asked: read this aloud")


class _GbnfController:
    supports_gbnf = True


def test_file_names_are_no_cue_and_the_grammar_leaves_the_task_out():
    planner = Planner(_GbnfController(), retrieve=0)
    offered = planner.offered("What emotions are in speech.wav?")
    assert "text-to-speech" not in offered and "audio-classification" in offered
    assert "text-to-speech" in planner.offered("Transcribe speech.wav and read it aloud")
    gbnf = planner.grammar_for({"audio": ["audio1.wav"]}, offered)
    assert '"text-to-speech"' not in gbnf and '"audio-classification"' in gbnf
    assert gbnf == planner_lines.grammar(offered, files={"audio": ["audio1.wav"]})
