"""Engines for the engine-process tests, built in the child process by "tests.engine_doubles:NAME".

`ScriptedEngine` stands in for the planner and runners (no model is loaded) so the tests pin what
they are about: the process boundary. It emits the same core events a real turn does, in the same
order, then does what the request says: "crash" kills its own process with SIGILL after task 1 has
finished, "hang" never returns (and ignores Stop), anything else finishes. `real_engine_crashing_runner`
is the real Engine (real controller and planner) whose runners kill the process when they start."""

from __future__ import annotations

import os
import signal
import threading
import time

from core import events as ev
from core.plan import parse_plan
from core.results import TaskOutput, TaskResult

PLAN = {"tasks": [
    {"id": 1, "task": "automatic-speech-recognition", "dep": [], "args": {"audio": "meeting.wav"}},
    {"id": 2, "task": "translation", "dep": [1], "args": {"text": "<resource>-1", "tgt_lang": "es"}},
]}


class ScriptedEngine:
    def __init__(self, bus: ev.EventBus, settings) -> None:  # noqa: ANN001 - Settings
        self.bus, self.settings = bus, settings

    def warm_up(self) -> None:
        if os.environ.get("MAESTRO_TEST_WARMUP_CRASH"):
            os.kill(os.getpid(), signal.SIGSEGV)

    def run_turn(self, request: str, files=(), history=(), cancel: threading.Event | None = None,  # noqa: ANN001
                 turn_id: str = ""):  # noqa: ANN201 - a TurnResult
        from core.engine.pipeline import TurnResult

        t0 = time.monotonic()
        self.bus.emit(ev.PlanReady(turn_id, PLAN, 0.01))
        self.bus.emit(ev.TaskStarted(turn_id, 1, "automatic-speech-recognition", "whisper-tiny"))
        first = TaskResult(1, "automatic-speech-recognition", "done", "whisper-tiny", "faster-whisper",
                           TaskOutput("book a table for two"), started_at=t0, finished_at=time.monotonic())
        self.bus.emit(ev.TaskFinished(turn_id, 1, "done", first.to_dict()))
        self.bus.emit(ev.TaskStarted(turn_id, 2, "translation", "apertium-en-es"))
        if "crash" in request:
            os.kill(os.getpid(), signal.SIGILL)
        if "hang" in request:
            while True:  # a native call that never returns: Stop cannot reach it
                time.sleep(0.05)
        second = TaskResult(2, "translation", "done", "apertium-en-es", "apertium",
                            TaskOutput("reserva una mesa para dos"), started_at=t0, finished_at=time.monotonic())
        self.bus.emit(ev.TaskFinished(turn_id, 2, "done", second.to_dict()))
        answer = "Task 1 heard 'book a table for two'; task 2 says 'reserva una mesa para dos'."
        self.bus.emit(ev.ResponseToken(turn_id, answer))
        self.bus.emit(ev.TurnFinished(turn_id, "done", answer, None, {"total_s": time.monotonic() - t0}))
        return TurnResult(turn_id, request, plan=parse_plan(PLAN), results=[first, second], answer=answer,
                          timings={"total_s": time.monotonic() - t0})

    def rerun_task(self, previous, task_id, model, cancel=None):  # noqa: ANN001, ANN201
        return previous


def broken_engine(bus: ev.EventBus, settings) -> ScriptedEngine:  # noqa: ANN001
    raise RuntimeError("controller model not found: /nowhere/model.gguf")


class _KillOnRun:
    def run(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        os.kill(os.getpid(), signal.SIGILL)


def real_engine_crashing_runner(bus: ev.EventBus, settings):  # noqa: ANN001, ANN201
    """The real engine; the first task to run kills the process once (a marker file says it did)."""
    from core.engine.pipeline import Engine
    from core.execution.runners import get_runner

    marker = os.environ["MAESTRO_TEST_CRASH_MARKER"]

    def lookup(runtime: str):  # noqa: ANN202
        if not os.path.exists(marker):
            open(marker, "w").close()  # noqa: SIM115 - the next engine must not crash again
            return _KillOnRun()
        return get_runner(runtime)

    return Engine(settings=settings, bus=bus, runner_lookup=lookup)
