"""Nothing lost: a process writing the history is killed with SIGKILL, at random points and in the
middle of a real task; on reopening, every message it had saved is there, the turn it was running
is marked interrupted, and SQLite's integrity check passes.

The CLI (`main.py ask`) keeps no history, so the writer here is a subprocess doing what the desktop
does per turn: begin_turn, save_partial as tasks finish, finish_turn."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.engine.store import Store

ROOT = Path(__file__).resolve().parent.parent

WRITER = r"""
import json, os, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from core.engine.store import Store
store = Store(Path({db!r}))
conv = {conv!r} or store.new_conversation("kill -9").id
print(json.dumps({{"conv": conv}}), flush=True)
i = 0
while True:
    tid = f"{{os.getpid()}}-{{i}}"
    m = store.begin_turn(conv, tid, f"request {{i}} " + "x" * (i % 7) * 300)
    print(json.dumps({{"id": m.id, "content": m.content, "turn": tid}}), flush=True)
    store.save_partial(tid, {{"turn_id": tid, "results": [{{"id": 1, "status": "done"}}]}})
    print(json.dumps({{"partial": tid}}), flush=True)
    if i % 3:  # two turns of three finish; the others stay running until the next begins
        a = store.finish_turn(conv, {{"turn_id": tid, "status": "done", "answer": f"answer {{i}}",
                                     "request": f"request {{i}}", "results": []}})
        print(json.dumps({{"id": a.id, "content": a.content, "finished": tid}}), flush=True)
    i += 1
"""


def _spawn(code: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_kill_9_at_random_points_loses_no_saved_message(tmp_path):
    db = tmp_path / "history.sqlite"
    rng = random.Random(7)
    saved: dict[int, str] = {}  # message id -> content, as acknowledged by the writer
    conv = ""
    rounds, killed_running = 12, 0
    for _ in range(rounds):
        proc = _spawn(WRITER.format(root=str(ROOT), db=str(db), conv=conv))
        conv = json.loads(proc.stdout.readline())["conv"]
        last_begun, last_finished = None, None
        begun: list[str] = []
        partial: set[str] = set()
        for _ in range(rng.randint(3, 80)):
            line = json.loads(proc.stdout.readline())
            if "partial" in line:
                partial.add(line["partial"])
                continue
            saved[line["id"]] = line["content"]
            last_begun = line.get("turn", last_begun)
            if "turn" in line:
                begun.append(line["turn"])
            last_finished = line.get("finished", last_finished)
        os.kill(proc.pid, signal.SIGKILL)  # possibly mid-transaction: the writer never pauses
        proc.wait()
        store = Store(db)  # what the app does on the next start
        try:
            assert store.integrity_check() == "ok"
            stored = {m.id: m.content for m in store.messages(conv)}
            missing = {i: c for i, c in saved.items() if stored.get(i) != c}
            assert missing == {}, f"{len(missing)} saved messages lost"
            statuses = {t["id"]: t["status"] for t in store.turns(conv)}
            assert "running" not in statuses.values()
            # Turns left open by the writer (every third) were running when it died.
            open_turns = [t for t in begun if int(t.rsplit("-", 1)[1]) % 3 == 0]
            for t in open_turns:
                assert statuses[t] == "interrupted", (t, statuses[t])
                if t in partial:  # the writer had saved what finished: it is kept
                    assert store.turn(t)["result"]["results"][0]["status"] == "done"
            killed_running += len(open_turns)
            if last_begun != last_finished:  # it may have finished after our last read, never lost
                assert statuses[last_begun] in ("interrupted", "done")
        finally:
            store.close()
    assert len(saved) >= rounds * 3 and killed_running >= 1
    print(json.dumps({"kills": rounds, "messages_saved": len(saved), "messages_lost": 0,
                      "turns_interrupted": killed_running}))


REAL_TURN = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from core.models import catalog
from core.events import EventBus
from core.execution.executor import Assignment, Executor
from core.config.paths import new_session_dir
from core.plan import parse_plan
from core.engine.store import Store

store = Store(Path({db!r}))
conv = store.new_conversation("real turn").id
session = new_session_dir("killed")
Path({audio!r}).replace(session / "inputs" / "talk.wav")
tid = "killed-turn"
msg = store.begin_turn(conv, tid, "How does this sentence feel, and transcribe the talk", session_dir=session)
print(json.dumps({{"conv": conv, "msg": msg.id}}), flush=True)
plan = parse_plan({{"tasks": [
    {{"id": 1, "task": "text-classification", "dep": [], "args": {{"text": "I love this wonderful day"}}}},
    {{"id": 2, "task": "automatic-speech-recognition", "dep": [1], "args": {{"audio": "talk.wav"}}}}]}})
bus = EventBus()
done = []
def on_event(e):
    if e.kind == "task_finished":
        done.append(e.result)
        store.save_partial(tid, {{"turn_id": tid, "plan": plan.to_dict(), "results": done}})
        print(json.dumps({{"finished": e.task_id, "status": e.status}}), flush=True)
    elif e.kind == "task_started":
        print(json.dumps({{"started": e.task_id}}), flush=True)
bus.subscribe(on_event)
assign = {{1: Assignment(catalog.get("local:vader")), 2: Assignment(catalog.get("Systran/faster-whisper-tiny.en"))}}
Executor(bus=bus, max_workers=1).run(plan, assign, session)
print(json.dumps({{"all": "done"}}), flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_kill_9_during_a_real_task_keeps_the_turn_and_what_finished(tmp_path):
    from tests.runner_support import speak

    db = tmp_path / "history.sqlite"
    talk = speak("This recording is long enough to still be decoding when the process is killed. " * 4,
                 tmp_path / "talk.wav")
    proc = _spawn(REAL_TURN.format(root=str(ROOT), db=str(db), audio=str(talk)),
                  env={"MAESTRO_DATA": str(tmp_path / "data")})
    head = json.loads(proc.stdout.readline())
    events = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        events.append(json.loads(proc.stdout.readline()))
        if events[-1].get("started") == 2:
            break
    os.kill(proc.pid, signal.SIGKILL)  # whisper is loading or decoding task 2
    proc.wait()
    assert {"finished": 1, "status": "done"} in events and {"started": 2} in events
    assert not any(e.get("finished") == 2 for e in events)
    store = Store(db)
    try:
        assert store.interrupted_on_open == 1 and store.integrity_check() == "ok"
        (msg,) = store.messages(head["conv"])
        assert msg.id == head["msg"] and msg.content.startswith("How does this sentence feel")
        turn = store.turn("killed-turn")
        assert turn["status"] == "interrupted" and "stopped" in turn["error"]
        (first,) = turn["result"]["results"]
        assert first["id"] == 1 and first["status"] == "done"
        assert "positive" in first["output"]["text"].lower()
    finally:
        store.close()
