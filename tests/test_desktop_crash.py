"""A native crash of the engine process never takes the window down.

The engine runs in its own process (core/engine/process.py). Here it dies mid-turn by SIGILL (as
llama.cpp's AMX kernels did on a CPU whose kernel had not enabled them), by SIGKILL from outside (an
out-of-memory kill), by the window's own Kill, and during warm-up. Each time the window stays up,
the turn is marked failed with the signal in plain words, what finished is kept (graph and store),
a new engine process starts, and the next turn completes. The scripted engine (tests/engine_doubles.py)
stands in for planner and models so these tests pin the process boundary itself; the slow test at
the end does the same with the real engine and the real controller."""

from __future__ import annotations

import os
import signal

import pytest
from PySide6.QtCore import Qt

from core.engine.store import Store

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]

SCRIPTED = "tests.engine_doubles:ScriptedEngine"


@pytest.fixture
def opened(qtbot):
    from desktop.app import create_window

    opened = []

    def open_window(factory: str = SCRIPTED, ready: bool = True):
        win, store, host = create_window(factory)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        host.start()
        if ready:
            qtbot.waitUntil(lambda: host.state == "ready", timeout=600_000)  # fresh clone: demo bank, KV, check
        opened.append((win, store, host))
        return win, store, host

    yield open_window
    for _win, store, host in opened:
        host.close(5)
        store.close()


def _send(qtbot, win, text: str) -> str:
    win.composer.input.setPlainText(text)
    qtbot.mouseClick(win.composer.send_button, Qt.MouseButton.LeftButton)
    assert win.running_turn
    return win.running_turn


def _assert_failed_but_kept(win, store, turn_id: str, words: str) -> None:
    state = win.turns[turn_id]
    assert state.status == "failed" and words in (state.error or ""), state.error
    assert state.tasks[1].status == "done"  # finished before the crash: kept, with its output
    assert state.tasks[1].result["output"]["text"] == "book a table for two"
    assert state.tasks[2].status in ("skipped", "failed", "cancelled")
    assert win.graph.node_state(1) == "done"
    assert words in win.chat.bubble_for(turn_id).status.text()
    stored = store.turn(turn_id)
    assert stored["status"] == "failed"
    assert [r["id"] for r in stored["result"]["results"]] == [1]  # the finished result is in the history
    assert not win.composer.busy and win.isVisible()


def _next_turn_completes(qtbot, win, host) -> None:
    qtbot.waitUntil(lambda: host.state == "ready", timeout=600_000)
    with qtbot.waitSignal(host.turn_done, timeout=60_000) as blocker:
        turn_id = _send(qtbot, win, "transcribe and translate")
    assert blocker.args[1]["status"] == "done"
    assert win.turns[turn_id].status == "done"
    assert "reserva una mesa" in win.chat.bubble_for(turn_id).text


def test_sigill_mid_turn_fails_the_turn_keeps_results_and_restarts(qtbot, opened):
    win, store, host = opened()
    first_pid = host.pid
    with qtbot.waitSignal(host.turn_failed, timeout=60_000) as blocker:
        turn_id = _send(qtbot, win, "crash while translating")
    assert "SIGILL" in blocker.args[2] and "illegal instruction" in blocker.args[2]
    _assert_failed_but_kept(win, store, turn_id, "SIGILL")
    assert host.restarts == 1
    _next_turn_completes(qtbot, win, host)
    assert host.pid != first_pid and host.last_restart_s is not None


def test_engine_killed_from_outside_mid_turn(qtbot, opened):
    win, store, host = opened()
    turn_id = _send(qtbot, win, "hang in a native call")
    qtbot.waitUntil(lambda: 2 in win.turns[turn_id].tasks and win.turns[turn_id].tasks[2].status == "running",
                    timeout=30_000)
    with qtbot.waitSignal(host.turn_failed, timeout=30_000):
        os.kill(host.pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    _assert_failed_but_kept(win, store, turn_id, "SIGKILL")
    _next_turn_completes(qtbot, win, host)


def test_stuck_engine_is_killed_by_a_second_stop(qtbot, opened):
    win, store, host = opened()
    turn_id = _send(qtbot, win, "hang and ignore stop")
    qtbot.waitUntil(lambda: 2 in win.turns[turn_id].tasks and win.turns[turn_id].tasks[2].status == "running",
                    timeout=30_000)
    qtbot.mouseClick(win.composer.stop_button, Qt.MouseButton.LeftButton)  # Stop: the engine does not react
    qtbot.wait(300)
    assert host.busy and "Stop again" in win.chat.bubble_for(turn_id).status.text()
    with qtbot.waitSignal(host.turn_failed, timeout=30_000):
        qtbot.mouseClick(win.composer.stop_button, Qt.MouseButton.LeftButton)
    _assert_failed_but_kept(win, store, turn_id, "stopped from the window")
    _next_turn_completes(qtbot, win, host)


def test_engine_that_crashes_while_loading_stops_retrying(qtbot, opened, monkeypatch):
    monkeypatch.setenv("MAESTRO_TEST_WARMUP_CRASH", "1")  # inherited by the engine processes
    win, store, host = opened(ready=False)
    qtbot.waitUntil(lambda: host.state == "error", timeout=60_000)
    assert host.generation == 2 and "SIGSEGV" in host.error  # one restart, then a clear error
    qtbot.waitUntil(lambda: "could not start" in win.engine_label.text(), timeout=10_000)  # a queued signal
    assert win.isVisible()


def test_store_keeps_the_conversation_across_a_crash(qtbot, opened):
    win, store, host = opened()
    with qtbot.waitSignal(host.turn_failed, timeout=60_000):
        _send(qtbot, win, "crash now")
    _next_turn_completes(qtbot, win, host)
    turns = [m for m in Store().messages(win.conv_id) if m.role == "user"]
    assert [m.content for m in turns] == ["crash now", "transcribe and translate"]


@pytest.mark.slow
def test_real_engine_crash_in_a_runner_then_a_real_turn(qtbot, opened, tmp_path, monkeypatch):
    """The real engine (real controller plans and answers); the first runner to start kills the
    process with SIGILL. The plan stays on screen, the turn fails in plain words, and after the
    restart a real turn is planned, run and answered."""
    monkeypatch.setenv("MAESTRO_TEST_CRASH_MARKER", str(tmp_path / "crashed-once"))
    # No cached llama.cpp verdict: the engine process runs the start-up check in a child of its own.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    win, store, host = opened("tests.engine_doubles:real_engine_crashing_runner")
    with qtbot.waitSignal(host.turn_failed, timeout=600_000) as blocker:
        turn_id = _send(qtbot, win, "Translate this sentence into Spanish: The house is big.")
    assert "SIGILL" in blocker.args[2]
    state = win.turns[turn_id]
    assert state.tasks and state.status == "failed"  # the plan that was running is still shown
    assert store.turn(turn_id)["status"] == "failed"
    qtbot.waitUntil(lambda: host.state == "ready", timeout=300_000)
    with qtbot.waitSignal(host.turn_done, timeout=600_000) as blocker:
        turn_id = _send(qtbot, win, "Translate this sentence into Spanish: The house is big.")
    assert blocker.args[1]["status"] == "done", blocker.args[1]["error"]
    assert "grande" in win.chat.bubble_for(turn_id).text.lower() or any(
        "grande" in ((r.get("output") or {}).get("text") or "").lower() for r in blocker.args[1]["results"])
