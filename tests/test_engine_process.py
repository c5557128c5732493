"""The engine process's pipe protocol without Qt: events arrive in order and typed, the result
follows them, a crash is reported with its exit code, a failed warm-up fails later turns politely."""

from __future__ import annotations

import queue
import signal

from core import events as ev
from core.config.settings import Settings
from core.engine.process import EngineProcess

SCRIPTED = "tests.engine_doubles:ScriptedEngine"


def _start(factory: str = SCRIPTED) -> tuple[EngineProcess, queue.Queue]:
    inbox: queue.Queue = queue.Queue()
    proc = EngineProcess(Settings(), inbox.put, factory)
    proc.start()
    return proc, inbox


def _until(inbox: queue.Queue, kind: str, timeout: float = 60.0) -> tuple[list, tuple]:
    seen = []
    while True:
        message = inbox.get(timeout=timeout)
        if message[0] == kind:
            return seen, message
        seen.append(message)


def test_events_then_result_in_order():
    proc, inbox = _start()
    try:
        _, ready = _until(inbox, "ready")
        assert ready[1]["pid"] == str(proc.pid)
        proc.send("turn", "t1", "transcribe and translate", [], [])
        seen, done = _until(inbox, "done")
        events = [m[1] for m in seen if m[0] == "event"]
        assert [type(e).__name__ for e in events] == [
            "PlanReady", "TaskStarted", "TaskFinished", "TaskStarted", "TaskFinished", "ResponseToken",
            "TurnFinished"]
        assert isinstance(events[0], ev.PlanReady) and events[0].turn_id == "t1"
        assert done[1] == "t1" and done[2]["status"] == "done"
        assert [r["id"] for r in done[2]["results"]] == [1, 2]
    finally:
        proc.stop()


def test_crash_is_reported_with_the_signal():
    proc, inbox = _start()
    _until(inbox, "ready")
    proc.send("turn", "t2", "crash", [], [])
    seen, exited = _until(inbox, "exited")
    assert exited[1] == -signal.SIGILL
    assert any(m[0] == "event" and isinstance(m[1], ev.TaskFinished) for m in seen)  # task 1 got out first
    assert not proc.alive and not proc.send("turn", "t3", "x", [], [])


def test_warm_up_failure_then_turns_fail_with_the_reason():
    proc, inbox = _start("tests.engine_doubles:broken_engine")
    try:
        _, failed = _until(inbox, "warmup_failed")
        assert "model.gguf" in failed[1]
        proc.send("turn", "t4", "hello", [], [])
        _, answer = _until(inbox, "failed")
        assert answer[1] == "t4" and answer[2].startswith("The engine is not available")
    finally:
        proc.stop()
