"""The desktop session without Qt: a turn's lifecycle against a real SQLite store, driven by the real core
event dataclasses and TurnResults the engine process sends (no window, no engine process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import events as ev
from core.engine.pipeline import TurnResult
from core.engine.store import Store
from core.plan import parse_plan
from core.results import TaskOutput, TaskResult
from desktop.session import ChatItem, Session, SessionError
from desktop.state import RESPONSE_ID

ROOT = Path(__file__).resolve().parent.parent

PLAN = {"tasks": [
    {"id": 1, "task": "image-to-text", "dep": [], "args": {"image": "cat.png"}},
    {"id": 2, "task": "object-detection", "dep": [], "args": {"image": "cat.png"}},
    {"id": 3, "task": "text-to-speech", "dep": [1], "args": {"text": "<resource>-1"}},
]}


class Engine:
    """The far side of `submit`: records what a turn was sent with and names it, as EngineHost.submit does."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list[Path], list[dict]]] = []

    def submit(self, conv_id: str, text: str, files, history) -> str:  # noqa: ANN001 - Submit's call
        self.sent.append((conv_id, text, list(files), list(history)))
        return f"t{len(self.sent)}"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "maestro.db")
    yield s
    s.close()


def _result(turn_id: str, request: str, model1: str = "org/captioner", answer: str = "A cat, boxed.") -> TurnResult:
    return TurnResult(turn_id, request, plan=parse_plan(PLAN), results=[
        TaskResult(1, "image-to-text", "done", model1, "onnx", TaskOutput("a cat"), started_at=1.0, finished_at=2.0),
        TaskResult(2, "object-detection", "done", "org/detector", "onnx", TaskOutput("1 cat"),
                   started_at=1.0, finished_at=1.5),
        TaskResult(3, "text-to-speech", "done", "org/voice", "piper", TaskOutput("spoke"),
                   started_at=2.0, finished_at=2.5)],
        selections={1: {"model": model1, "runtime": "onnx", "reason": "default", "candidates": [model1]}},
        answer=answer, timings={"total_s": 2.5})


def _finished(turn_id: str, task_id: int, task: str, model: str, text: str) -> ev.TaskFinished:
    return ev.TaskFinished(turn_id, task_id, "done", TaskResult(
        task_id, task, "done", model, "onnx", TaskOutput(text), started_at=1.0, finished_at=2.0).to_dict())


def _run_to_done(session: Session, engine: Engine, text: str) -> str:
    state = session.start_turn(text, [], engine.submit)
    t = state.turn_id
    for e in (ev.PlanReady(t, PLAN, 0.5), _finished(t, 1, "image-to-text", "org/captioner", "a cat"),
              _finished(t, 2, "object-detection", "org/detector", "1 cat"),
              _finished(t, 3, "text-to-speech", "org/voice", "spoke"),
              ev.TurnFinished(t, "done", "A cat, boxed.", None, {"total_s": 2.5})):
        session.apply(e)
    session.finish_turn(session.conv_id, _result(t, text))
    return t


def test_session_module_imports_no_qt():
    code = ("import sys, desktop.session; qt = sorted(m for m in sys.modules if m.startswith('PySide6'));"
            "print(qt); sys.exit(1 if qt else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_turn_from_request_to_stored_answer(store, tmp_path):
    session, engine = Session(store), Engine()
    photo = tmp_path / "cat.png"
    state = session.start_turn("describe cat.png and find the objects in it, then read it aloud", [photo],
                               engine.submit)
    conv = session.conv_id
    # A new conversation titled by its first request (shortened), the request sent with no history.
    assert store.conversation(conv).title == "describe cat.png and find the objects in it, th…"
    assert engine.sent == [(conv, "describe cat.png and find the objects in it, then read it aloud", [photo], [])]
    assert (state.turn_id, state.status, session.running_turn, session.running_conv) == ("t1", "planning", "t1", conv)
    assert store.turn("t1")["status"] == "running"
    assert [(m.role, m.turn_id, m.files) for m in store.messages(conv)] == [("user", "t1", [str(photo)])]

    # The plan is saved the moment it arrives, then each finished task.
    assert session.apply(ev.PlanReady("t1", PLAN, 0.5)) == (state, {1, 2, 3, RESPONSE_ID})
    assert [t["id"] for t in store.turn("t1")["result"]["plan"]["tasks"]] == [1, 2, 3]
    session.apply(ev.TaskSelected("t1", 1, "image-to-text", "org/captioner", "onnx", "default", ["org/captioner"]))
    session.apply(ev.TaskStarted("t1", 1, "image-to-text", "org/captioner"))
    assert store.turn("t1")["result"]["results"] == []
    session.apply(_finished("t1", 1, "image-to-text", "org/captioner", "a cat"))
    saved = store.turn("t1")["result"]
    assert [r["id"] for r in saved["results"]] == [1] and saved["selections"]["1"]["model"] == "org/captioner"
    assert session.add_tokens("t1", "A cat") == {RESPONSE_ID}
    assert session.add_tokens("t1", ", boxed.") == set()  # still streaming: nothing new to draw
    assert session.apply(ev.TaskStarted("other", 1, "x")) is None  # a turn this session does not know
    assert session.add_tokens("other", "x") is None

    final, data = session.finish_turn(conv, _result("t1", state.request))
    assert final.status == "done" and final.answer == "A cat, boxed." and data["answer"] == "A cat, boxed."
    assert [final.tasks[i].status for i in (1, 2, 3)] == ["done", "done", "done"]
    assert session.turns["t1"] is final and (session.running_turn, session.running_conv) == ("", "")
    row = store.turn("t1")
    assert row["status"] == "done" and [r["id"] for r in row["result"]["results"]] == [1, 2, 3]
    assert [(m.role, m.content) for m in store.messages(conv)][-1] == ("assistant", "A cat, boxed.")
    assert [t["model"] for t in store.tasks("t1")] == ["org/captioner", "org/detector", "org/voice"]


def test_a_failed_turn_keeps_its_partial_results(store):
    session, engine = Session(store), Engine()
    t = session.start_turn("describe cat.png", [], engine.submit).turn_id
    session.apply(ev.PlanReady(t, PLAN, 0.5))
    session.apply(_finished(t, 1, "image-to-text", "org/captioner", "a cat"))
    session.apply(ev.TaskStarted(t, 2, "object-detection", "org/detector"))
    session.add_tokens(t, "So far: a cat")
    # The engine process died with SIGILL while task 2 ran: EngineHost reports turn_failed.
    state = session.fail_turn(session.conv_id, t, "The engine stopped: illegal instruction (SIGILL).")
    assert state is session.turns[t]
    assert (state.status, state.error, state.answer) == ("failed", "The engine stopped: illegal instruction (SIGILL).",
                                                         "So far: a cat")
    assert [state.tasks[i].status for i in (1, 2, 3)] == ["done", "skipped", "skipped"]
    assert state.tasks[1].result["output"]["text"] == "a cat"
    row = store.turn(t)
    assert row["status"] == "failed" and row["error"].startswith("The engine stopped")
    assert [r["id"] for r in row["result"]["results"]] == [1]  # what finished is in the history
    assert [t_["id"] for t_ in row["result"]["plan"]["tasks"]] == [1, 2, 3]
    assert store.messages(session.conv_id)[-1].content == "So far: a cat"
    assert session.running_turn == ""

    # A fresh session on the same database (the app restarted) shows the same turn.
    again = Session(store)
    items, last = again.open(session.conv_id)
    assert last == t
    assert [(i.role, i.text, i.turn_id) for i in items] == [("user", "describe cat.png", t),
                                                            ("assistant", "So far: a cat", t)]
    rebuilt = again.turns[t]
    assert rebuilt.status == "failed" and [rebuilt.tasks[i].status for i in (1, 2, 3)] == ["done", "skipped",
                                                                                         "skipped"]


def test_a_turn_the_engine_refuses_while_it_is_sent_is_kept_as_failed(store):
    """EngineHost.submit reports turn_failed from inside the call when the engine's pipe is already gone."""
    session = Session(store)

    def submit(conv_id, text, files, history):  # noqa: ANN001, ANN202 - Submit's call
        session.fail_turn(conv_id, "t9", "The engine is not running; it is being restarted.")
        return "t9"

    state = session.start_turn("hello", [], submit)
    assert (state.turn_id, state.status) == ("t9", "failed") and not session.starting
    assert store.turn("t9")["status"] == "failed" and session.running_turn == ""
    assert [(m.role, m.content) for m in store.messages(session.conv_id)] == [
        ("user", "hello"), ("assistant", "The turn failed: The engine is not running; it is being restarted.")]


def test_stopped_while_the_answer_streams_keeps_the_written_part(store):
    session, engine = Session(store), Engine()
    t = session.start_turn("describe cat.png", [], engine.submit).turn_id
    session.apply(ev.PlanReady(t, PLAN))
    session.add_tokens(t, "The photo shows a")
    session.apply(ev.TurnFinished(t, "cancelled", "", "cancelled by the user"))
    final, data = session.finish_turn(session.conv_id, TurnResult(t, "describe cat.png", status="cancelled",
                                                                  error="cancelled by the user"))
    assert data["answer"] == "The photo shows a …"
    assert final.status == "cancelled" and {final.tasks[i].status for i in (1, 2, 3)} == {"cancelled"}
    assert store.messages(session.conv_id)[-1].content == "The photo shows a …"
    assert store.turn(t)["status"] == "cancelled"


def test_rerun_sends_the_turn_with_one_task_and_the_chosen_model(store):
    session, engine = Session(store), Engine()
    t = _run_to_done(session, engine, "describe cat.png and read it aloud")
    conv = session.conv_id

    job = session.rerun(t, 2, "org/other-detector")  # no task depends on #2: only it runs again
    assert (job.conv_id, job.turn_id, job.task_id, job.model, job.stale) == (conv, t, 2, "org/other-detector", {2})
    assert job.previous == _result(t, "describe cat.png and read it aloud").to_dict()
    # What the engine process rebuilds from it (core.engine.process: TurnResult.from_dict) has the whole plan.
    assert [x.id for x in TurnResult.from_dict(job.previous).plan.tasks] == [1, 2, 3]
    state = session.turns[t]
    assert [state.tasks[i].status for i in (1, 2, 3)] == ["done", "selecting", "done"]
    assert (state.status, state.answer, session.running_turn, session.running_conv) == ("running", "", t, conv)
    assert [(m.role, m.content) for m in store.messages(conv)][-1] == (
        "system", "Re-running task #2 with org/other-detector")
    with pytest.raises(SessionError, match="running"):
        session.rerun(t, 1, "org/other-captioner")
    session.finish_turn(conv, _result(t, "describe cat.png and read it aloud"))

    job = session.rerun(t, 1, "org/other-captioner")  # task 3 reads task 1's text: it runs again too
    assert job.stale == {1, 3}
    state = session.turns[t]  # finish_turn settled the turn in a fresh state
    assert [state.tasks[i].status for i in (1, 2, 3)] == ["selecting", "done", "selecting"]
    stored_before = store.turn(t)["result"]
    # The engine announces the same plan again: the kept task keeps its result on screen.
    session.apply(ev.PlanReady(t, PLAN, 0.0))
    state = session.turns[t]
    assert state.tasks[2].status == "done" and state.tasks[2].result["output"]["text"] == "1 cat"
    assert [state.tasks[i].status for i in (1, 3)] == ["selecting", "selecting"]
    session.apply(_finished(t, 1, "image-to-text", "org/other-captioner", "a tabby cat"))
    assert store.turn(t)["result"] == stored_before  # the stored turn changes only when the re-run ends
    final, _ = session.finish_turn(conv, _result(t, "describe cat.png and read it aloud", "org/other-captioner",
                                                 "A tabby cat, boxed."))
    assert final.tasks[1].model == "org/other-captioner" and session.rerun_keep == {}
    assert store.tasks(t)[0]["model"] == "org/other-captioner"
    assert [m.content for m in store.messages(conv) if m.role == "assistant"][-1] == "A tabby cat, boxed."


def test_rerun_of_a_stored_turn_after_a_restart(store):
    t = _run_to_done(Session(store), Engine(), "describe cat.png")
    conv = store.conversations()[0].id
    session = Session(store)  # nothing of that turn is in memory
    with pytest.raises(SessionError, match="no stored result"):
        session.rerun("nope", 1, "org/other-captioner")
    with pytest.raises(SessionError, match="#7"):
        session.rerun(t, 7, "org/other-captioner")
    job = session.rerun(t, 1, "org/other-captioner")
    assert job.conv_id == conv and job.stale == {1, 3} and job.previous == store.turn(t)["result"]


def test_open_rebuilds_every_turn_after_a_restart(tmp_path):
    path = tmp_path / "maestro.db"
    store = Store(path)
    session, engine = Session(store), Engine()
    done = _run_to_done(session, engine, "describe cat.png")
    conv = session.conv_id
    session.add_note("Re-running task #2 with org/other-detector")
    dead = session.start_turn("and read it aloud", [], engine.submit).turn_id
    session.apply(ev.PlanReady(dead, PLAN))
    session.apply(_finished(dead, 1, "image-to-text", "org/captioner", "kept"))
    store._db.execute("UPDATE turns SET pid=999999999 WHERE id=?", (dead,))  # as if its process died
    store.close()

    store = Store(path)
    assert store.interrupted_on_open == 1
    session = Session(store)
    items, last = session.open(conv)
    answer = store.turn(done)["result"]
    assert items == [
        ChatItem("user", "describe cat.png", [], done),
        ChatItem("assistant", "A cat, boxed.", [], done, answer),
        ChatItem("assistant", "_Re-running task #2 with org/other-detector_"),
        ChatItem("user", "and read it aloud", [], dead),
        ChatItem("assistant", "", [], dead, None, "Interrupted: Maestro stopped while this request was running. "
                                                  "Finished tasks are kept (click to see them)."),
    ]
    assert last == dead and session.conv_id == conv
    assert [session.turns[done].tasks[i].status for i in (1, 2, 3)] == ["done", "done", "done"]
    assert session.turns[done].answer == "A cat, boxed."
    assert [session.turns[dead].tasks[i].status for i in (1, 2, 3)] == ["done", "cancelled", "cancelled"]
    assert session.turns[dead].tasks[1].result["output"]["text"] == "kept"
    store.close()


def test_open_shows_the_turn_still_running_in_this_session(store):
    session, engine = Session(store), Engine()
    t = session.start_turn("summarise the report", [], engine.submit).turn_id
    conv = session.conv_id
    session.apply(ev.PlanReady(t, PLAN))
    session.add_tokens(t, "First part.")
    other = store.new_conversation("other").id
    assert session.open(other) == ([], "")
    items, last = session.open(conv)
    assert last == t and items[-1] == ChatItem("assistant", "First part.", [], t, None, "working…")
    assert session.turns[t].status == "running"  # the live state, not a rebuilt one


def test_a_follow_up_gets_the_earlier_turns(store):
    session, engine = Session(store), Engine()
    first = _run_to_done(session, engine, "describe cat.png")
    session.start_turn("now read the description aloud", [], engine.submit)
    conv, text, files, history = engine.sent[-1]
    assert (conv, text, files) == (session.conv_id, "now read the description aloud", [])
    assert history == [store.turn(first)["result"]]
    assert history[0]["answer"] == "A cat, boxed." and history[0]["results"][0]["output"]["text"] == "a cat"
    with pytest.raises(SessionError, match="still running"):
        session.start_turn("and again", [], engine.submit)
    session.fail_turn(session.conv_id, "", "The engine stopped: killed (SIGKILL).")  # "" = the running one
    assert store.turn("t2")["status"] == "failed"

    session.new_conversation()
    session.start_turn("something else", [], engine.submit)
    assert engine.sent[-1][3] == [] and engine.sent[-1][0] != conv  # a new conversation starts afresh


def test_delete_conversation(store):
    session, engine = Session(store), Engine()
    t = _run_to_done(session, engine, "describe cat.png")
    keep = session.conv_id
    session.new_conversation()
    running = session.start_turn("transcribe the meeting", [], engine.submit).turn_id
    with pytest.raises(SessionError, match="stop it first"):
        session.delete_conversation(session.conv_id)
    assert session.delete_conversation(keep) is False  # not the one on screen
    assert t not in session.turns and t not in session.results and store.turn(t) is None
    session.fail_turn(session.conv_id, running, "The engine stopped.")
    gone = session.conv_id
    assert session.delete_conversation(gone) is True and session.conv_id == ""
    assert store.conversations() == [] and running not in session.turns


def test_download_progress_lands_on_the_waiting_task(store):
    session, engine = Session(store), Engine()
    t = session.start_turn("detect objects", [], engine.submit).turn_id
    session.apply(ev.PlanReady(t, PLAN))
    session.apply(ev.TaskSelected(t, 2, "object-detection", "org/detector", "transformers", "not cached: will download"))
    turn_id, changed = session.fold_download(ev.DownloadProgress(model="org/detector", filename="model.safetensors",
                                                                 done_bytes=3, total_bytes=12))
    task = session.turns[t].tasks[2]
    assert (turn_id, changed) == (t, {2})
    assert (task.status, task.fraction, task.message) == ("running", 0.25, "downloading model.safetensors")
    assert session.fold_download(ev.DownloadProgress(model="org/other")) == (t, set())
