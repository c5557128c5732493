"""core.engine.store: real SQLite files, a real process killed mid-write, exports with artifacts."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config.paths import new_session_dir
from core.engine.store import SCHEMA_VERSION, Store
from core.errors import StoreError

ROOT = Path(__file__).resolve().parent.parent


def _turn_dict(turn_id: str, session: Path, status: str = "done") -> dict:
    image = session / "artifacts" / "task1-object-detection.png"
    image.write_bytes(b"\x89PNG fake but a real file")
    (session / "inputs" / "cat.jpg").write_bytes(b"jpeg bytes")
    return {
        "turn_id": turn_id, "request": "what is in cat.jpg?",
        "plan": {"tasks": [{"id": 1, "task": "object-detection", "dep": [], "args": {"image": "cat.jpg"}},
                           {"id": 2, "task": "image-to-text", "dep": [], "args": {"image": "cat.jpg"}}]},
        "selections": {"1": {"model": "hustvl/yolos-tiny", "runtime": "transformers",
                             "reason": "most downloaded", "candidates": []}},
        "results": [
            {"id": 1, "task": "object-detection", "status": "done", "model": "hustvl/yolos-tiny",
             "runtime": "transformers", "error": None, "duration_s": 1.25,
             "output": {"text": "cat (0.98)", "files": [{"path": str(image), "modality": "image",
                                                          "mime": "image/png"}], "data": {}}},
            {"id": 2, "task": "image-to-text", "status": "failed", "model": "x/y", "runtime": "onnx",
             "error": "model | broke", "duration_s": None, "output": None},
        ],
        "answer": "A cat sits on a sofa.", "status": status, "error": None,
        "timings": {"total_s": 3.0}, "session_dir": str(session),
    }


def test_schema_version_and_wal(tmp_path):
    store = Store(tmp_path / "h.db")
    assert store.schema_version() == SCHEMA_VERSION >= 1
    mode = store._query("PRAGMA journal_mode")[0][0]
    assert mode == "wal"
    assert store.integrity_check() == "ok"


def test_newer_schema_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "h.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer Maestro"):
        Store(path)


def test_conversations_rename_delete_search():
    store = Store()
    a = store.new_conversation("Holiday photos")
    b = store.new_conversation()
    store.add_message(b.id, "user", "transcribe the meeting recording please")
    store.add_message(b.id, "assistant", "Here is the transcript: 50% done_ok")
    assert [c.id for c in store.conversations()] == [b.id, a.id]  # newest activity first
    assert [c.id for c in store.search("holiday")] == [a.id]
    assert [c.id for c in store.search("MEETING")] == [b.id]
    assert [c.id for c in store.search("50%")] == [b.id]  # LIKE wildcards are escaped
    assert store.search("5_%") == []
    store.rename_conversation(b.id, "Meeting notes")
    assert store.conversation(b.id).title == "Meeting notes"
    with pytest.raises(StoreError):
        store.rename_conversation(b.id, "   ")
    store.delete_conversation(a.id)
    assert [c.id for c in store.conversations()] == [b.id]
    with pytest.raises(StoreError):
        store.conversation(a.id)


def test_turn_roundtrip_survives_reopen():
    store = Store()
    conv = store.new_conversation("cats")
    session = new_session_dir("t1")
    store.begin_turn(conv.id, "t1", "what is in cat.jpg?", files=[session / "inputs" / "cat.jpg"],
                     session_dir=session)
    assert store.turn("t1")["status"] == "running"
    store.finish_turn(conv.id, _turn_dict("t1", session))
    store.close()

    again = Store()
    msgs = again.messages(conv.id)
    assert [(m.role, m.content) for m in msgs] == [("user", "what is in cat.jpg?"),
                                                   ("assistant", "A cat sits on a sofa.")]
    assert msgs[0].files == [str(session / "inputs" / "cat.jpg")]
    again.set_request_files("t1", [session / "inputs" / "cat-2.jpg"])
    assert again.messages(conv.id)[0].files == [str(session / "inputs" / "cat-2.jpg")]
    assert again.messages(conv.id)[1].files == []  # only the user's message carries the files
    turn = again.turn("t1")
    assert turn["status"] == "done"
    assert turn["result"]["plan"]["tasks"][1]["task"] == "image-to-text"
    tasks = again.tasks("t1")
    assert [(t["task_id"], t["status"], t["reason"]) for t in tasks] == [
        (1, "done", "most downloaded"), (2, "failed", None)]
    arts = again.artifacts("t1")
    assert len(arts) == 1 and arts[0]["modality"] == "image"
    assert again.history(conv.id)[0]["answer"] == "A cat sits on a sofa."
    assert again.interrupted_on_open == 0


def test_failed_turn_message_says_why():
    store = Store()
    conv = store.new_conversation()
    msg = store.finish_turn(conv.id, {"turn_id": "t9", "request": "x", "status": "failed",
                                      "error": "the plan named an unknown task", "answer": ""})
    assert "unknown task" in msg.content
    assert store.turn("t9")["status"] == "failed"


def test_delete_removes_session_folder_but_nothing_outside(tmp_path):
    store = Store()
    conv = store.new_conversation()
    session = new_session_dir("t2")
    outside = tmp_path / "keep-me"
    outside.mkdir()
    store.begin_turn(conv.id, "t2", "hi", session_dir=session)
    store.begin_turn(conv.id, "t3", "hi", session_dir=outside)
    store.delete_conversation(conv.id)
    assert not session.exists()
    assert outside.exists()
    assert store.turn("t2") is None and store.turn("t3") is None  # cascaded


def test_export_markdown_and_json_with_artifacts(tmp_path):
    store = Store()
    conv = store.new_conversation("Cat pictures")
    session = new_session_dir("t4")
    store.begin_turn(conv.id, "t4", "what is in cat.jpg?", files=["cat.jpg"], session_dir=session)
    store.finish_turn(conv.id, _turn_dict("t4", session))

    md = store.export_markdown(conv.id, tmp_path / "out" / "cats.md").read_text(encoding="utf-8")
    assert md.startswith("# Cat pictures")
    assert "A cat sits on a sofa." in md
    assert "| 1 | object-detection | hustvl/yolos-tiny | done | 1.2 | cat (0.98) `task1-object-detection.png` |" in md
    assert "model \\| broke" in md  # table cells are escaped

    out = store.export_json(conv.id, tmp_path / "export")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["conversation"]["title"] == "Cat pictures"
    assert [m["role"] for m in doc["messages"]] == ["user", "assistant"]
    file_ref = doc["turns"][0]["result"]["results"][0]["output"]["files"][0]["path"]
    assert file_ref == "artifacts/t4/artifacts/task1-object-detection.png"
    assert (tmp_path / "export" / file_ref).read_bytes() == b"\x89PNG fake but a real file"
    assert (tmp_path / "export" / "artifacts/t4/inputs/cat.jpg").exists()


WRITER = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from core.engine.store import Store
store = Store(Path(sys.argv[1]))
conv = store.new_conversation("crash test")
store.begin_turn(conv.id, "dying-turn", "a long request", session_dir=None)
print(conv.id, flush=True)
i = 0
while True:
    i += 1
    store.add_message(conv.id, "assistant", f"message {i} " + "x" * 2000)
    print(i, flush=True)
"""


def test_sigkill_mid_write_keeps_committed_messages(tmp_path):
    db = tmp_path / "crash.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(ROOT)],
                            stdout=subprocess.PIPE, text=True)
    conv_id = proc.stdout.readline().strip()
    last = 0
    deadline = time.monotonic() + 60
    while last < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        last = int(line)
    os.kill(proc.pid, signal.SIGKILL)  # mid-loop: a transaction is very likely in flight
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert last >= 300, "the writer did not get far enough"

    store = Store(db)
    assert store.integrity_check() == "ok"
    msgs = store.messages(conv_id)
    assert msgs[0].content == "a long request"
    contents = [m.content for m in msgs[1:]]
    # Every message the writer reported as committed is there, in order, whole.
    assert len(contents) >= last
    assert all(c == f"message {i + 1} " + "x" * 2000 for i, c in enumerate(contents))
    turn = store.turn("dying-turn")
    assert turn["status"] == "interrupted"
    assert "stopped" in turn["error"]
    assert store.interrupted_on_open == 1


def test_running_turn_of_a_live_process_is_not_marked_interrupted(tmp_path):
    db = tmp_path / "live.db"
    first = Store(db)
    conv = first.new_conversation()
    first.begin_turn(conv.id, "live", "still working")
    second = Store(db)  # same process, so the owner is alive
    assert second.turn("live")["status"] == "running"
    assert second.interrupted_on_open == 0


def test_partial_result_of_a_running_turn_survives_and_stays_out_of_history():
    store = Store()
    conv = store.new_conversation()
    store.begin_turn(conv.id, "p1", "caption and speak")
    partial = {"turn_id": "p1", "status": "running", "plan": {"tasks": [{"id": 1, "task": "image-to-text",
                                                                        "dep": [], "args": {}}]},
               "results": [{"id": 1, "task": "image-to-text", "status": "done", "output": {"text": "a dog"}}]}
    store.save_partial("p1", partial)
    assert store.turn("p1")["result"]["results"][0]["output"]["text"] == "a dog"
    assert store.history(conv.id) == []  # incomplete turns are not fed back to the planner
    store.finish_turn(conv.id, {"turn_id": "p1", "request": "caption and speak", "status": "done",
                                "answer": "A dog.", "results": []})
    store.save_partial("p1", partial)  # too late: a finished turn is never overwritten by a partial
    assert store.turn("p1")["result"]["answer"] == "A dog."
    assert [h["answer"] for h in store.history(conv.id)] == ["A dog."]


def test_export_leaves_out_links_planted_in_a_session(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the session")
    store = Store()
    conv = store.new_conversation("Links")
    session = new_session_dir("t9")
    store.begin_turn(conv.id, "t9", "what is in cat.jpg?", files=["cat.jpg"], session_dir=session)
    store.finish_turn(conv.id, _turn_dict("t9", session))
    (session / "inputs" / "leak.txt").symlink_to(secret)
    store.export_json(conv.id, tmp_path / "export")
    exported = list((tmp_path / "export").rglob("*"))
    assert not any(p.name == "leak.txt" for p in exported)
    assert not any(p.is_file() and p.read_bytes() == b"outside the session" for p in exported)
    assert (tmp_path / "export" / "artifacts/t9/inputs/cat.jpg").exists()
