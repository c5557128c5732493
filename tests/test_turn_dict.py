"""A turn survives to_dict -> JSON -> from_dict (the desktop re-runs stored turns this way)."""

import json
from pathlib import Path

from core.engine.pipeline import TurnResult
from core.plan import parse_plan
from core.results import Artifact, TaskOutput, TaskResult


def test_round_trip_keeps_plan_results_and_files(tmp_path):
    wav = tmp_path / "a.wav"
    turn = TurnResult(
        "t1", "say it", plan=parse_plan([{"id": 1, "task": "text-to-speech", "dep": [], "args": {"text": "hi"}}]),
        results=[TaskResult(1, "text-to-speech", "done", "piper", "piper-onnx",
                            TaskOutput("spoke 1 word", [Artifact(wav, "audio", "audio/wav")], {"seconds": 0.4}),
                            None, {"text": "hi"}, 1.0, 2.5, 0.3)],
        selections={1: {"model": "piper", "reason": "only one"}}, answer="Done.", warnings=["w"],
        timings={"total_s": 3.0}, session_dir=tmp_path, files=[str(tmp_path / "x.png")])
    back = TurnResult.from_dict(json.loads(json.dumps(turn.to_dict())))
    assert back.to_dict() == turn.to_dict()
    assert back.results[0].output.file_of("audio").path == Path(wav)
    assert back.results[0].duration_s == 1.5 and back.selections[1]["model"] == "piper"
