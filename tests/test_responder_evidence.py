"""Answers honest about evidence: a low-scored output is a guess with its score, a missing model is
named with what to download, and a controller that states a guess as fact is overruled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.plan import parse_plan
from core.response.evidence import (
    GUESS_BELOW,
    guess_text,
    guesses,
    needed_model,
    split_footer,
    states_guess_as_fact,
)
from core.response.responder import Responder, sources_footer
from core.results import TaskOutput, TaskResult
from tests.test_responder import RecordingController

PLAN = parse_plan([
    {"id": 1, "task": "image-to-text", "dep": [], "args": {"image": "astronaut.png"}},
    {"id": 2, "task": "image-classification", "dep": [], "args": {"image": "astronaut.png"}},
])
# What the selector says offline when the captioner is not installed (core/selection/selector.py _offline_reason).
OFFLINE = ("needs Salesforce/blip-image-captioning-base, 990 MB, not installed (offline); "
           "`python main.py models get Salesforce/blip-image-captioning-base` fetches it when online")


@pytest.fixture(scope="module")
def astronaut_labels(tmp_path_factory) -> TaskOutput:
    """The packaged EfficientNet-lite0 on scikit-image's astronaut photo: a real low-score output."""
    from PIL import Image
    from skimage import data

    from core.execution.runners import get_runner
    from core.models import catalog
    from tests.runner_support import make_ctx

    session = tmp_path_factory.mktemp("astro")
    Image.fromarray(data.astronaut()).save(session / "astronaut.png")
    entry = catalog.get("local:efficientnet-lite0")
    return get_runner(entry.runtime).run(make_ctx(entry, session), {"image": session / "astronaut.png"})


def _results(labels: TaskOutput) -> dict[int, TaskResult]:
    return {1: TaskResult(1, "image-to-text", "failed", model=None, error=OFFLINE, started_at=0.0, finished_at=0.0),
            2: TaskResult(2, "image-classification", "done", model="local:efficientnet-lite0", output=labels,
                          started_at=0.0, finished_at=0.4)}


@pytest.mark.slow
def test_real_low_score_classifier_is_reported_as_a_guess(astronaut_labels):
    top = astronaut_labels.data["labels"][0]
    print(json.dumps(astronaut_labels.data["labels"][:3]))
    assert top["score"] < GUESS_BELOW  # the classifier has no "astronaut" class: it is not sure
    unsure = guesses(astronaut_labels.data)
    assert unsure and unsure[0].label == top["label"]
    assert guess_text(unsure).startswith(f"possibly a {top['label']} ({top['score'] * 100:.0f} %)")


@pytest.mark.slow
def test_guess_stated_as_fact_is_overruled_and_the_missing_captioner_named(astronaut_labels):
    top = astronaut_labels.data["labels"][0]["label"]
    second = astronaut_labels.data["labels"][1]["label"]
    liar = RecordingController(f"The picture shows a {top} and a {second}.")
    streamed: list[str] = []
    answer, _ = Responder(liar).respond("Describe this picture and tell me what objects are in it", PLAN,
                                        _results(astronaut_labels), on_token=streamed.append)
    prompt = liar.messages[1]["content"]
    assert "UNSURE" in prompt and "NOT RUN" in prompt  # the controller was told, and still stated it
    body, footer = split_footer(answer)
    assert f"The picture shows a {top}" not in answer
    assert streamed == ["", answer.split("\n\nNote:")[0], answer[len(answer.split("\n\nNote:")[0]):]]
    assert f"possibly a {top} (" in body and not states_guess_as_fact(body, guesses(astronaut_labels.data))
    assert "needs Salesforce/blip-image-captioning-base (990 MB, licence bsd-3-clause)" in body
    assert "Tools → Models" in body
    assert footer.startswith("---\nResults:") and "#1 image-to-text (0.0 s): not run — needs" in footer
    assert "\n\n---\nResults:" in answer  # a blank line first: the note above must not become a heading


def test_a_hedged_answer_is_kept():
    out = TaskOutput("football helmet (0.16)", data={"labels": [{"label": "football helmet", "score": 0.16},
                                                               {"label": "bobsled", "score": 0.11}]})
    results = {2: TaskResult(2, "image-classification", "done", model="m", output=out)}
    plan = parse_plan([PLAN.tasks[1].to_dict() if hasattr(PLAN.tasks[1], "to_dict") else
                       {"id": 2, "task": "image-classification", "dep": [], "args": {"image": "a.png"}}])
    ctrl = RecordingController("It is possibly a football helmet (16 %), but the classifier is not sure.")
    answer, _ = Responder(ctrl).respond("what is it", plan, results)
    assert answer.startswith("It is possibly a football helmet (16 %), but the classifier is not sure.")


def test_a_confident_output_is_a_fact_not_a_guess():
    data = {"labels": [{"label": "tabby", "score": 0.91}, {"label": "tiger cat", "score": 0.05}]}
    assert guesses(data) == []
    assert guesses({"answers": [{"answer": "yes", "score": 0.31}]})[0].noun is False
    assert guess_text(guesses({"answers": [{"answer": "yes", "score": 0.31}]})) == "possibly “yes” (31 %)"
    assert guesses({"text": "no scores here"}) == []


def test_needed_model_names_the_default_download():
    need = needed_model("image-to-text")
    assert need is not None and need.model == "Salesforce/blip-image-captioning-base"
    assert need.size_text() == "990 MB" and need.license == "bsd-3-clause"
    assert needed_model("optical-character-recognition") is None  # the packaged OCR is installed


def test_footer_has_file_names_and_timings_not_paths(tmp_path):
    from core.results import Artifact

    wav = tmp_path / "session" / "artifacts" / "task3-text-to-speech.wav"
    plan = parse_plan([{"id": 3, "task": "text-to-speech", "dep": [], "args": {"text": "hi"}}])
    r = TaskResult(3, "text-to-speech", "done", model="rhasspy/piper-voices", started_at=1.0, finished_at=3.5,
                   output=TaskOutput("spoke 1 word", [Artifact(wav, "audio")]))
    footer = sources_footer(plan, {3: r})
    assert footer == "\n---\nResults:\n- #3 text-to-speech (piper-voices, 2.5 s): spoke 1 word · task3-text-to-speech.wav"
    assert split_footer("Done.\n" + footer) == ("Done.", footer.lstrip("\n"))
    assert split_footer("Old.\n---\nTasks:\n1. x")[0] == "Old."  # answers stored before the rename
    assert Path(str(wav)).parent.as_posix() not in footer


@pytest.mark.slow
def test_real_controller_on_the_astronaut_never_states_the_guess_as_fact(astronaut_labels):
    """The packaged 1.5B controller writes the answer from the real classifier output and the missing
    captioner; whatever it drafts, the answer reports the label as a guess and names the download."""
    from core.config.settings import Settings
    from core.llm.controllers import load_controller
    from core.response.injection import GuardedResponder

    controller = load_controller(Settings(threads=0))
    drafts: list[str] = []
    answer, seconds = GuardedResponder(controller).respond(
        "Describe this picture and tell me what objects are in it", PLAN, _results(astronaut_labels),
        on_token=drafts.append)
    print(json.dumps({"streamed": "".join(drafts), "answer": answer, "llm_s": round(seconds, 1)}))
    body, _footer = split_footer(answer)
    unsure = guesses(astronaut_labels.data)
    assert not states_guess_as_fact(body, unsure)
    assert not states_guess_as_fact("".join(drafts), unsure)  # not even streamed, then taken back
    assert f"{unsure[0].score * 100:.0f} %" in answer
    assert "Salesforce/blip-image-captioning-base" in body


def test_the_terminal_log_still_says_where_result_files_are():
    import io

    from cli.engine import LivePrinter
    from core import events as ev

    out = io.StringIO()
    LivePrinter(out)(ev.TaskFinished("t", 2, "done", {"duration_s": 1.0, "output": {
        "text": "spoke 3 words", "files": [{"path": "/data/sessions/x/artifacts/task2-text-to-speech.wav"}]}}))
    assert out.getvalue() == ("  task 2 done in 1.0 s: spoke 3 words\n"
                              "    file: /data/sessions/x/artifacts/task2-text-to-speech.wav\n")
