"""The cost of running the engine in its own process (core/engine/process.py), as JSON.

  python -m benchmarks.bench_engine_process [--turns 30] [--no-restart] --json

- boundary: a turn of an engine that does no work but emits what a three-task turn emits (plan,
  selections, starts, finishes, 60 answer tokens, the result), run N times in-process and N times
  through the engine process; the difference per turn is what the process boundary costs.
- restart: the real engine (controller load + planner warm-up) from spawn to ready, then after a
  SIGKILL mid-idle to ready again (what the window waits after a crash)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import events as ev  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.engine.process import EngineProcess  # noqa: E402

TOKENS = 60


class NullEngine:
    """Emits a three-task turn's events and returns its result; no models."""

    def __init__(self, bus: ev.EventBus, settings) -> None:  # noqa: ANN001
        self.bus = bus

    def warm_up(self) -> None:
        pass

    def run_turn(self, request, files=(), history=(), cancel=None, turn_id=""):  # noqa: ANN001, ANN201
        from core.engine.pipeline import TurnResult
        from core.plan import parse_plan
        from core.results import TaskOutput, TaskResult

        plan = {"tasks": [{"id": i, "task": "translation", "dep": [i - 1] if i > 1 else [],
                           "args": {"text": f"<resource>-{i - 1}" if i > 1 else "hello"}} for i in (1, 2, 3)]}
        self.bus.emit(ev.PlanReady(turn_id, plan, 0.0))
        results = []
        for i in (1, 2, 3):
            self.bus.emit(ev.TaskSelected(turn_id, i, "translation", "m", "apertium", "only model", ["m"]))
            self.bus.emit(ev.TaskStarted(turn_id, i, "translation", "m"))
            r = TaskResult(i, "translation", "done", "m", "apertium", TaskOutput("hola " * 20), started_at=0.0,
                           finished_at=0.1)
            results.append(r)
            self.bus.emit(ev.TaskFinished(turn_id, i, "done", r.to_dict()))
        for _ in range(TOKENS):
            self.bus.emit(ev.ResponseToken(turn_id, " word"))
        self.bus.emit(ev.TurnFinished(turn_id, "done", "word " * TOKENS, None, {}))
        return TurnResult(turn_id, request, plan=parse_plan(plan), results=results, answer="word " * TOKENS)


class _Waiter:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.messages: list[tuple] = []
        self.events = 0

    def __call__(self, message: tuple) -> None:
        with self.cond:
            if message[0] == "event":
                self.events += 1
            else:
                self.messages.append(message)
            self.cond.notify_all()

    def wait_for(self, kind: str, timeout: float = 600.0) -> tuple:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, m in enumerate(self.messages):
                    if m[0] == kind:
                        return self.messages.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(kind)
                self.cond.wait(left)


def boundary(turns: int) -> dict:
    settings = load_settings()
    bus = ev.EventBus()
    seen = []
    bus.subscribe(seen.append)
    engine = NullEngine(bus, settings)
    engine.run_turn("warm", turn_id="w")
    local = []
    for i in range(turns):
        t0 = time.perf_counter()
        engine.run_turn("x", turn_id=f"l{i}").to_dict()
        local.append(time.perf_counter() - t0)
    waiter = _Waiter()
    proc = EngineProcess(settings, waiter, "benchmarks.bench_engine_process:NullEngine")
    proc.start()
    waiter.wait_for("ready")
    proc.send("turn", "w", "warm", [], [])
    waiter.wait_for("done")
    remote = []
    for i in range(turns):
        t0 = time.perf_counter()
        proc.send("turn", f"r{i}", "x", [], [])
        waiter.wait_for("done")
        remote.append(time.perf_counter() - t0)
    events_per_turn = (waiter.events // (turns + 1))
    proc.stop()
    med_local, med_remote = statistics.median(local), statistics.median(remote)
    return {"turns": turns, "events_per_turn": events_per_turn,
            "in_process_ms_p50": round(med_local * 1000, 2),
            "engine_process_ms_p50": round(med_remote * 1000, 2),
            "engine_process_ms_p95": round(sorted(remote)[int(0.95 * (turns - 1))] * 1000, 2),
            "boundary_ms_per_turn": round((med_remote - med_local) * 1000, 2)}


def restart() -> dict:
    settings = load_settings()
    waiter = _Waiter()
    proc = EngineProcess(settings, waiter)
    t0 = time.monotonic()
    proc.start()
    kind = waiter.wait_for("ready")
    first = time.monotonic() - t0
    os.kill(proc.pid, signal.SIGKILL)
    exited = waiter.wait_for("exited")
    t1 = time.monotonic()
    again = EngineProcess(settings, waiter)
    again.start()
    waiter.wait_for("ready")
    second = time.monotonic() - t1
    again.stop()
    return {"first_start_to_ready_s": round(first, 2), "exit_code_seen": exited[1],
            "restart_after_sigkill_to_ready_s": round(second, 2), "controller": kind[1].get("controller", ""),
            "backend": kind[1].get("backend", "")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--no-restart", action="store_true", help="skip the real-engine restart timing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = {"boundary": boundary(args.turns)}
    if not args.no_restart:
        report["restart"] = restart()
    print(json.dumps(report) if args.json else json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
