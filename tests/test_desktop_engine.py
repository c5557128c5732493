"""The window with the real engine (real controller LLM, real OCR model): drop a file, send,
watch the graph reach `done` and the answer appear; Stop mid-run; restart and find the history.

Slow: the 1.5B controller plans and answers on the CPU (tens of seconds per turn here)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QApplication

from core.engine.store import Store
from desktop.state import FINAL_STATES, RESPONSE_ID

pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]

TURN_TIMEOUT_MS = 600_000  # generous: 2 shared CPU cores


@pytest.fixture(scope="module")
def controller():
    """The packaged controller must be there; each window's engine process loads it itself."""
    from core.config.settings import load_settings
    from core.llm.controllers import controller_model_path

    try:
        return controller_model_path(load_settings().controller)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the packaged controller model is needed (make packs): {e}")


def _open_window(qtbot, controller):
    from desktop.app import create_window

    win, store, host = create_window()  # the real engine, in its own process
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    qtbot.waitExposed(win)
    host.start()
    qtbot.waitUntil(lambda: host.state in ("ready", "error"), timeout=600_000)  # a fresh clone embeds the demo bank first
    assert host.state == "ready", host.error
    return win, store, host


def _sign(path: Path, text: str) -> Path:
    font = QFont("DejaVu Sans")
    font.setPixelSize(48)
    font.setBold(True)
    width = QFontMetrics(font).horizontalAdvance(text) + 120  # the whole text, with a margin
    image = QImage(width, 160, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(QColor("black"))
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    assert image.save(str(path))
    return path


def _drop(widget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def test_drop_send_graph_done_answer_then_restart(qtbot, controller, tmp_path):
    win, store, host = _open_window(qtbot, controller)
    sign = _sign(tmp_path / "sign.png", "CLOSED ON MONDAY")
    _drop(win.composer, [sign])
    assert win.composer.files == [sign.resolve()]
    win.composer.input.setPlainText("Read the text written on the sign in sign.png.")
    qtbot.mouseClick(win.composer.send_button, Qt.MouseButton.LeftButton)
    turn_id = win.running_turn
    assert turn_id and win.composer.stop_button.isVisible()
    with qtbot.waitSignal(host.turn_done, timeout=TURN_TIMEOUT_MS):
        pass
    state = win.turns[turn_id]
    assert state.status == "done", state.error
    assert state.tasks, "the plan had no task"
    assert all(win.graph.node_state(t) == "done" for t in state.tasks), \
        {t: win.graph.node_state(t) for t in state.tasks}
    assert win.graph.node_state(RESPONSE_ID) == "done"
    ocr = [t for t in state.tasks.values() if t.task == "optical-character-recognition"]
    read = (ocr[0].result or {}).get("output", {}).get("text", "").upper() if ocr else ""
    assert "CLOSED" in read and "MONDAY" in read, read
    bubble = win.chat.bubble_for(turn_id)
    # The OCR'd text is on screen: in the answer or in task #N's result card under it.
    from PySide6.QtWidgets import QLabel

    shown = (bubble.text + " ".join(w.text() for w in bubble.findChildren(QLabel))).upper()
    assert "CLOSED" in shown and "MONDAY" in shown
    assert bubble.cards is not None and bubble.cards.card(ocr[0].id) is not None
    assert not win.composer.busy
    # Node details show the model and why it was chosen.
    win._on_node_clicked(ocr[0].id)
    assert ocr[0].model in win.details.browser.toPlainText()
    conv_id = win.conv_id
    win.close()
    store.close()

    # Restart: a new window on the same data folder has the conversation, answer and graph back.
    win2, store2, _host2 = _open_window(qtbot, controller)
    assert win2.conv_id == conv_id
    assert [b.role for b in win2.chat.bubbles][:2] == ["user", "assistant"]
    assert win2.chat.bubbles[1].text == bubble.text
    assert type(win2.chat.bubbles[0].media_widgets()[0]).__name__ == "ImageThumb"  # the dropped file
    assert win2.shown_turn == turn_id
    assert all(win2.graph.node_state(t) == "done" for t in state.tasks)
    assert Store().turn(turn_id)["status"] == "done"
    store2.close()


def test_stop_mid_run(qtbot, controller, tmp_path):
    win, store, host = _open_window(qtbot, controller)
    win.composer.input.setPlainText("Write a long story about a lighthouse keeper, then translate it "
                                    "to Spanish and read it aloud.")
    win.composer.send()
    turn_id = win.running_turn
    qtbot.wait(1500)  # the controller is planning now
    assert host.busy
    qtbot.mouseClick(win.composer.stop_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(host.turn_done, timeout=TURN_TIMEOUT_MS) as blocker:
        pass
    result = blocker.args[1]
    assert result["status"] == "cancelled"
    assert not win.composer.busy and win.composer.send_button.isVisible()
    state = win.turns[turn_id]
    assert state.status == "cancelled"
    assert all(t.status in FINAL_STATES for t in state.tasks.values())
    assert "Stopped" in win.chat.bubble_for(turn_id).status.text()
    assert store.turn(turn_id)["status"] == "cancelled"
    # New settings reload the engine: a new engine process with them.
    import dataclasses

    old_pid, old_generation = host.pid, host.generation
    win.apply_settings(dataclasses.replace(win.settings, task_timeout_s=123.0))
    qtbot.waitUntil(lambda: host.state == "ready" and host.generation == old_generation + 1, timeout=600_000)
    assert host.pid != old_pid and host.settings.task_timeout_s == 123.0
    assert host.info["pid"] == str(host.pid)
    host.close()
    store.close()


def test_rerun_node_with_another_model(qtbot, controller):
    """Click a node, pick another installed model, re-run: the task runs again with it and the
    answer is written again; the stored turn follows."""
    win, store, host = _open_window(qtbot, controller)
    win.composer.input.setPlainText("Translate this sentence into Spanish: The house is big.")
    win.composer.send()
    turn_id = win.running_turn
    with qtbot.waitSignal(host.turn_done, timeout=TURN_TIMEOUT_MS):
        pass
    state = win.turns[turn_id]
    task = next((t for t in state.tasks.values() if t.task == "translation"), None)
    assert task is not None and task.status == "done", {t.id: (t.task, t.status) for t in state.tasks.values()}
    first_model = task.model
    other = ("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF" if first_model == "local:apertium-eng-spa"
             else "local:apertium-eng-spa")
    win.graph.node_clicked.emit(task.id)
    box = win.details.model_box
    index = box.findText(other)
    assert index >= 0, [box.itemText(i) for i in range(box.count())]
    box.setCurrentIndex(index)
    assert win.details.rerun_button.isEnabled()
    answers_before = len([b for b in win.chat.bubbles if b.turn_id == turn_id and b.role == "assistant"])
    qtbot.mouseClick(win.details.rerun_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(host.turn_done, timeout=TURN_TIMEOUT_MS) as blocker:
        pass
    result = blocker.args[1]  # the TurnResult dict the engine process sent
    assert result["status"] == "done", result["error"]
    rerun = next(r for r in result["results"] if r["id"] == task.id)
    assert rerun["model"] == other and rerun["status"] == "done"
    assert "grande" in ((rerun["output"] or {}).get("text") or "").lower()  # "is big" in Spanish
    assert win.turns[turn_id].tasks[task.id].model == other
    assert win.graph.node_state(task.id) == "done"
    answers = [b for b in win.chat.bubbles if b.turn_id == turn_id and b.role == "assistant"]
    assert len(answers) == answers_before + 1 and answers[-1].text  # the answer was written again
    stored = store.turn(turn_id)["result"]
    assert next(r for r in stored["results"] if r["id"] == task.id)["model"] == other
    store.close()
