"""The desktop window driven by real core events (no model needed): graph, chat, input, history.

The real-engine runs (send, stop, restart) are in test_desktop_engine.py."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QThread, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QLabel

from core import events as ev
from core.config.paths import data_dir, new_session_dir
from core.engine.store import Store
from desktop.state import RESPONSE_ID, TurnState

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform plugin cannot resize native windows; not a Maestro problem.
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]

PLAN = {"tasks": [
    {"id": 1, "task": "image-to-text", "dep": [], "args": {"image": "cat.png"}},
    {"id": 2, "task": "object-detection", "dep": [], "args": {"image": "cat.png"}},
    {"id": 3, "task": "text-to-speech", "dep": [1], "args": {"text": "<resource>-1"}},
]}


@pytest.fixture
def window(qtbot):
    from desktop.app import create_window

    win, store, host = create_window()
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    qtbot.waitExposed(win)
    yield win
    store.close()


def _emit_from_thread(bus: ev.EventBus, events: list[ev.Event]) -> None:
    """Emit like the executor does: on a worker thread."""
    worker = threading.Thread(target=lambda: [bus.emit(e) for e in events])
    worker.start()
    worker.join()


def _png(path: Path, colour: str = "#cc5533") -> Path:
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    assert image.save(str(path))
    return path


def test_state_folds_events_in_order():
    state = TurnState("t1", "describe cat.png")
    assert state.apply(ev.PlanReady("t1", PLAN, 1.5)) == {1, 2, 3, RESPONSE_ID}
    assert state.generations() == [[1, 2], [3]]
    assert {t.status for t in state.tasks.values()} == {"selecting"}
    state.apply(ev.TaskSelected("t1", 1, "image-to-text", "m/caption", "onnx", "only cached model", ["m/caption"]))
    assert state.tasks[1].status == "pending" and state.tasks[1].reason == "only cached model"
    state.apply(ev.TaskStarted("t1", 1, "image-to-text", "m/caption"))
    state.apply(ev.TaskProgress("t1", 1, 0.5, "decoding"))
    assert (state.tasks[1].status, state.tasks[1].fraction) == ("running", 0.5)
    state.apply(ev.TaskFinished("t1", 1, "done", {"id": 1, "status": "done", "duration_s": 2.0,
                                                 "output": {"text": "a cat"}}))
    state.apply(ev.TaskFinished("t1", 2, "failed", {"id": 2, "status": "failed", "error": "no model"}))
    state.apply(ev.ResponseToken("t1", "A "))
    assert state.response == "running"
    state.apply(ev.TurnFinished("t1", "cancelled", "A", None, {"total_s": 3.0}))
    assert [state.tasks[i].status for i in (1, 2, 3)] == ["done", "failed", "cancelled"]
    assert state.response == "cancelled" and state.answer == "A"


def test_adapter_hops_to_gui_thread_and_batches_tokens(qtbot):
    from desktop.adapter import EventAdapter

    adapter = EventAdapter()
    bus = ev.EventBus()
    adapter.attach(bus)
    seen: list[tuple[str, bool]] = []
    token_updates: list[str] = []
    adapter.event.connect(lambda e: seen.append((e.kind, QThread.currentThread() == QApplication.instance().thread())))
    adapter.tokens.connect(lambda turn, text: token_updates.append(text))
    words = [f"w{i} " for i in range(2000)]
    events = [ev.PlanReady("t", PLAN), ev.TaskStarted("t", 1, "image-to-text")] + \
             [ev.ResponseToken("t", w) for w in words] + [ev.TurnFinished("t", "done", "".join(words))]
    _emit_from_thread(bus, events)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][0] == "turn_finished", timeout=5000)
    assert [k for k, _ in seen] == ["plan_ready", "task_started", "turn_finished"]
    assert all(on_gui for _, on_gui in seen)
    assert "".join(token_updates) == "".join(words)  # every token arrived, in order, before TurnFinished
    assert len(token_updates) < 50, f"tokens were not batched: {len(token_updates)} updates for 2000 tokens"
    adapter.detach()


def test_graph_follows_live_events_and_node_details(window, qtbot, tmp_path):
    turn_id = "live1"
    window.turns[turn_id] = TurnState(turn_id, "describe cat.png and read it aloud")
    window.conv_id = window.store.new_conversation("graph test").id
    window.chat.add_message("assistant", "", turn_id=turn_id)
    window.show_turn(turn_id)
    bus = window.host.bus
    _emit_from_thread(bus, [ev.PlanReady(turn_id, PLAN, 0.8)])
    qtbot.waitUntil(lambda: len(window.graph.nodes) == 4)  # 3 tasks + the answer node
    assert len(window.graph.edges) == 3  # 1->3, and the leaves 2 and 3 -> answer
    flow = {tid: node.pos().y() if window.graph.vertical else node.pos().x()
            for tid, node in window.graph.nodes.items()}
    assert flow[1] == flow[2] < flow[3] < flow[RESPONSE_ID]  # laid out by topological generation
    assert window.graph.node_state(1) == "selecting"

    image = _png(tmp_path / "boxes.png")
    _emit_from_thread(bus, [
        ev.TaskSelected(turn_id, 1, "image-to-text", "org/captioner", "onnx", "most downloaded cached model",
                        ["org/captioner", "org/other-captioner"]),
        ev.TaskSelected(turn_id, 2, "object-detection", "org/detector", "transformers", "default"),
        ev.TaskStarted(turn_id, 1, "image-to-text", "org/captioner"),
        ev.TaskProgress(turn_id, 1, 0.4, "generating"),
    ])
    qtbot.waitUntil(lambda: window.graph.node_state(1) == "running")
    assert window.graph.nodes[1].fraction == pytest.approx(0.4)
    assert window.graph.node_state(2) == "pending"
    _emit_from_thread(bus, [
        ev.TaskFinished(turn_id, 1, "done", {"id": 1, "status": "done", "model": "org/captioner",
                                             "duration_s": 1.5, "load_s": 0.5,
                                             "output": {"text": "a red square", "files": [], "data": {}}}),
        ev.TaskFinished(turn_id, 2, "done", {"id": 2, "status": "done", "model": "org/detector", "duration_s": 0.7,
                                             "output": {"text": "1 object", "data": {},
                                                        "files": [{"path": str(image), "modality": "image"}]}}),
        ev.TaskFinished(turn_id, 3, "failed", {"id": 3, "status": "failed", "error": "no voice installed"}),
        ev.ResponseToken(turn_id, "It is "), ev.ResponseToken(turn_id, "a red square."),
    ])
    qtbot.waitUntil(lambda: window.graph.node_state(RESPONSE_ID) == "running")
    bubble = window.chat.bubble_for(turn_id)
    qtbot.waitUntil(lambda: bubble.text == "It is a red square.")
    assert [window.graph.node_state(i) for i in (1, 2, 3)] == ["done", "done", "failed"]
    _emit_from_thread(bus, [ev.TurnFinished(turn_id, "done", "It is a red square.", None, {"total_s": 4.0})])
    qtbot.waitUntil(lambda: window.graph.node_state(RESPONSE_ID) == "done")

    # Click node 1 in the view: details show model, reason, output, timings; re-run offers the other model.
    node = window.graph.nodes[1]
    centre = window.graph.mapFromScene(node.mapToScene(QPointF(60, 30)))
    qtbot.mouseClick(window.graph.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    text = window.details.browser.toPlainText()
    assert "org/captioner" in text and "most downloaded cached model" in text
    assert "a red square" in text and "1.50 s" in text and "0.50 s" in text
    assert [window.details.model_box.itemText(i) for i in range(window.details.model_box.count())][0] == \
        "org/other-captioner"
    window._on_node_clicked(3)
    assert "no voice installed" in window.details.browser.toPlainText()
    window._on_node_clicked(2)
    assert "boxes.png" in window.details.browser.toHtml()


def _drop(widget, paths: list[Path]) -> None:
    """A real drag: DragEnter (Qt only delivers a Drop to a widget that accepted the enter), then Drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    with warnings.catch_warnings():  # PySide marks the QPoint overload deprecated; it is the only one
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), f"{type(widget).__name__} refused the drag"
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def test_drop_files_accepts_supported_and_explains_refusals(window, tmp_path):
    good = _png(tmp_path / "photo.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting at noon", encoding="utf-8")
    bad = tmp_path / "report.docx"
    bad.write_bytes(b"PK\x03\x04 not really")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _drop(window.composer, [good, bad])
    _drop(window.composer.input.viewport(), [notes, empty])  # dropping on the text box attaches too
    composer = window.composer
    assert composer.files == [good.resolve(), notes.resolve()]
    assert "empty.wav: the file is empty." in composer.notice.text()
    _drop(window, [bad])  # anywhere on the window
    assert "report.docx: .docx is not a format" in composer.notice.text()
    assert composer.notice.isVisible()
    assert composer.input.toPlainText() == ""  # no file URLs pasted as text


def test_paste_image_becomes_an_attachment(window):
    mime = QMimeData()
    image = QImage(30, 20, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    mime.setImageData(image)
    window.composer.input.insertFromMimeData(mime)
    assert len(window.composer.files) == 1
    pasted = window.composer.files[0]
    assert pasted.parent == data_dir() / "pasted" and QImage(str(pasted)).width() == 30


def test_sidebar_new_rename_delete_search(window, qtbot):
    store: Store = window.store
    a = store.new_conversation("Birds at the feeder")
    b = store.new_conversation("Podcast transcript")
    store.add_message(b.id, "user", "transcribe episode 12")
    window.sidebar.reload()
    assert window.sidebar.titles() == ["Podcast transcript", "Birds at the feeder"]
    window.sidebar.search.setText("episode")
    assert window.sidebar.ids() == [b.id]
    window.sidebar.search.clear()
    window.sidebar.rename(a.id, "Garden birds")
    assert "Garden birds" in window.sidebar.titles()
    window.sidebar.select(b.id)
    assert window.conv_id == b.id and window.chat.bubbles[0].text == "transcribe episode 12"
    window.sidebar.delete(b.id)
    assert window.sidebar.ids() == [a.id]
    assert window.conv_id == a.id  # moved to the remaining conversation


def test_a_conversation_with_a_running_request_is_not_deleted(window):
    store: Store = window.store
    conv = store.new_conversation("Running")
    window.sidebar.reload(select=conv.id)
    store.begin_turn(conv.id, "busy1", "transcribe the meeting")
    window.session.running_turn, window.session.running_conv = "busy1", conv.id
    window.sidebar.delete(conv.id)
    assert window.sidebar.ids() == [conv.id] and store.turn("busy1")["status"] == "running"
    assert window.statusBar().currentMessage() == "A request is still running in this conversation; stop it first."


def _wav(path: Path, seconds: float = 0.5) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * int(16000 * seconds))
    return path


def _text(path: Path) -> Path:
    path.write_text("The summary of the meeting: ship on Friday.", encoding="utf-8")
    return path


def _stored_turn(store: Store, conv_id: str, tmp_path: Path) -> str:
    session = new_session_dir("stored1")
    art = _png(session / "artifacts" / "task2-object-detection.png", "#22aa44")
    store.begin_turn(conv_id, "stored1", "find objects in photo.png", files=[], session_dir=session)
    store.finish_turn(conv_id, {
        "turn_id": "stored1", "request": "find objects in photo.png", "status": "done",
        "plan": PLAN, "answer": "I found **one** square.", "error": None, "timings": {"total_s": 5.0},
        "selections": {"1": {"model": "org/captioner", "runtime": "onnx", "reason": "default", "candidates": []}},
        "results": [
            {"id": 1, "task": "image-to-text", "status": "done", "model": "org/captioner", "duration_s": 1.0,
             "output": {"text": "a green square", "files": [], "data": {}}},
            {"id": 2, "task": "object-detection", "status": "done", "model": "org/detector", "duration_s": 2.0,
             "output": {"text": "square", "files": [{"path": str(art), "modality": "image"}], "data": {}}},
            {"id": 3, "task": "text-to-speech", "status": "skipped", "error": "task 1 failed"},
            {"id": 4, "task": "summarization", "status": "done", "model": "m/sum", "duration_s": 0.1,
             "output": {"text": "short", "data": {}, "files": [
                 {"path": str(_wav(session / "artifacts" / "task4.wav")), "modality": "audio"},
                 {"path": str(_text(session / "artifacts" / "task4.txt")), "modality": "text"}]}},
        ],
        "session_dir": str(session)})
    return "stored1"


def test_history_is_back_in_a_new_window(qtbot, tmp_path):
    from desktop.app import create_window

    store = Store()
    conv = store.new_conversation("Shapes")
    _stored_turn(store, conv.id, tmp_path)
    store.begin_turn(conv.id, "dead1", "a request that was running when the app died")
    partial = TurnState("dead1", "a request that was running when the app died")
    partial.apply(ev.PlanReady("dead1", PLAN))
    partial.apply(ev.TaskFinished("dead1", 1, "done", {"id": 1, "status": "done", "output": {"text": "kept"}}))
    store.save_partial("dead1", partial.partial())
    store._db.execute("UPDATE turns SET pid=999999999 WHERE id='dead1'")  # owner process is gone
    store.close()

    win, store2, _host = create_window()
    qtbot.addWidget(win)
    win.show()
    assert store2.interrupted_on_open == 1
    assert win.conv_id == conv.id
    texts = [b.text for b in win.chat.bubbles]
    assert texts[:2] == ["find objects in photo.png", "I found **one** square."]
    assert any("Interrupted" in b.status.text() for b in win.chat.bubbles)
    answer = win.chat.bubbles[1]
    # Results as cards under the answer, one per task: the image, an audio player (with its length), a text
    # preview, and the skipped task with its reason.
    from desktop.cards import Thumb
    from desktop.media import AudioPlayer, TextPreview

    cards = answer.cards.cards
    assert [c.title.text() for c in cards] == ["#1 image-to-text · captioner · 1.0 s",
                                               "#2 object-detection · detector · 2.0 s", "#3 text-to-speech",
                                               "#4 summarization · sum · 0.1 s"]
    assert cards[1].findChild(Thumb) is not None
    assert cards[3].findChild(AudioPlayer).label.text() == "task4.wav (0.5 s)"
    assert "ship on Friday" in cards[3].findChild(TextPreview).preview.text()
    assert "task 1 failed" in cards[2].findChild(QLabel, "cardError").text()
    assert win.shown_turn == "dead1"  # the latest turn's graph is shown
    win.chat.bubbles[1].clicked.emit("stored1")  # clicking an answer shows its turn's graph
    assert win.shown_turn == "stored1"
    assert [win.graph.node_state(i) for i in (1, 2, 3, RESPONSE_ID)] == ["done", "done", "skipped", "done"]
    # The interrupted turn kept its finished task: click its note to see the graph.
    note = next(b for b in win.chat.bubbles if "Interrupted" in b.status.text())
    assert note.turn_id == "dead1"
    win.show_turn(note.turn_id)
    assert [win.graph.node_state(i) for i in (1, 2, 3)] == ["done", "cancelled", "cancelled"]
    store2.close()


def test_settings_dialog_validates_and_saves(qtbot, tmp_path):
    from core.config.settings import Settings, load_settings
    from desktop.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.source.setCurrentIndex(3)
    dialog.endpoint_url.setText("localhost:8080")
    with pytest.raises(ValueError, match="http://"):
        dialog.collect()
    dialog.endpoint_url.setText("http://127.0.0.1:8080/v1/")
    dialog.endpoint_model.setText("qwen")
    dialog.threads.setValue(2)
    dialog.offline.setChecked(True)
    dialog.accept()
    saved = load_settings()
    assert (saved.endpoint_url, saved.endpoint_model, saved.threads, saved.offline) == (
        "http://127.0.0.1:8080/v1", "qwen", 2, True)
    dialog2 = SettingsDialog(saved)
    qtbot.addWidget(dialog2)
    dialog2.source.setCurrentIndex(1)
    dialog2.gguf_path.setText(str(tmp_path / "missing.gguf"))
    dialog2.accept()
    assert not dialog2.error.isHidden() and ".gguf" in dialog2.error.text()
    assert dialog2.result() != dialog2.DialogCode.Accepted


def _plain(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html)


def test_memory_and_startup_status_visible(window):
    import re

    memory = re.fullmatch(r"memory in use: (\d+\.\d\d) GB of (\d+) GB", window.memory_label.text())
    assert memory, window.memory_label.text()
    assert 0 < float(memory[1]) < float(memory[2])
    # create_window does not start the engine: the status bar says it is loading, in orange.
    assert window.host.state == "idle"
    assert _plain(window.engine_label.text()) == "● Loading the controller model…"
    assert "#e65100" in window.engine_label.text()
    window.host.status_changed.emit("ready", "Ready")
    assert _plain(window.engine_label.text()) == "● Ready" and "#2e7d32" in window.engine_label.text()
    window.host.status_changed.emit("error", "The engine could not start: no model.gguf")
    assert _plain(window.engine_label.text()) == "● The engine could not start: no model.gguf"
    assert "#b71c1c" in window.engine_label.text()


def test_window_module_imports_no_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys; import desktop.app, desktop.main_window; "
            "heavy=[m for m in ('torch','transformers','llama_cpp','onnxruntime','core.engine.pipeline') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr



def test_qt_binding_keeps_none_alive(qapp):
    """PySide6 6.12.0 drops a reference to None on every void call under Python 3.11, which kills a
    long session ("none_dealloc"); requirements/desktop.txt pins a version without the bug."""
    import sys

    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for i in range(2000):
        label.setText(str(i))
    assert sys.getrefcount(None) > before - 100


def test_enter_sends_shift_enter_adds_a_line(qtbot):
    from desktop.composer import Composer

    composer = Composer()
    qtbot.addWidget(composer)
    sent: list[tuple[str, list]] = []
    composer.send_requested.connect(lambda text, files: sent.append((text, files)))
    qtbot.keyClicks(composer.input, "first line")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.input, "second")
    assert sent == []
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent == [("first line\nsecond", [])]
    assert composer.input.toPlainText() == ""
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)  # nothing typed: nothing sent
    assert len(sent) == 1


def test_no_display_gives_a_clear_message_not_a_crash(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["MAESTRO_DATA"] = str(tmp_path)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "main.py"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert "No display was found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.qt_log_ignore("PulseAudio", "audio device", "pa_context")  # no sound card on CI machines
def test_audio_player_decodes_and_plays_a_result_wav(qtbot, tmp_path):
    import importlib.util

    # find_spec, not import: the player itself imports QtMultimedia (after quieting its probes).
    assert importlib.util.find_spec("PySide6.QtMultimedia"), "PySide6-Addons (requirements/desktop.txt) missing"
    from desktop.media import AudioPlayer

    player = AudioPlayer(_wav(tmp_path / "speech.wav", seconds=1.0))
    qtbot.addWidget(player)
    assert player.label.text() == "speech.wav (1.0 s)"
    player.button.click()
    qtbot.waitUntil(lambda: player._player is not None and player._player.duration() == 1000, timeout=10000)
    # It plays through to the end (silently where there is no sound card), then offers Play again.
    qtbot.waitUntil(lambda: player._player.mediaStatus() == player._player.MediaStatus.EndOfMedia, timeout=15000)
    assert not player._player.errorString()
    qtbot.waitUntil(lambda: player.button.text() == "▶ Play", timeout=5000)


def test_stop_while_answer_streams_keeps_the_written_part(window, qtbot):
    from core.engine.pipeline import TurnResult

    conv = window.store.new_conversation("stop test")
    window.sidebar.reload(select=conv.id)
    turn_id = "stop1"
    window.store.begin_turn(conv.id, turn_id, "describe cat.png")
    window.turns[turn_id] = TurnState(turn_id, "describe cat.png")
    window.chat.add_message("assistant", "", turn_id=turn_id)
    window.show_turn(turn_id)
    _emit_from_thread(window.host.bus, [ev.PlanReady(turn_id, PLAN), ev.ResponseToken(turn_id, "The photo shows a")])
    bubble = window.chat.bubble_for(turn_id)
    qtbot.waitUntil(lambda: bubble.text == "The photo shows a")
    _emit_from_thread(window.host.bus, [ev.TurnFinished(turn_id, "cancelled", "", "cancelled by the user")])
    window.host.turn_done.emit(conv.id, TurnResult(turn_id, "describe cat.png", status="cancelled",
                                                   error="cancelled by the user"))
    qtbot.waitUntil(lambda: window.turns[turn_id].status == "cancelled")
    assert bubble.text == "The photo shows a …"
    assert "Stopped" in bubble.status.text()
    stored = window.store.messages(conv.id)[-1]
    assert (stored.role, stored.content) == ("assistant", "The photo shows a …")
    assert window.store.turn(turn_id)["status"] == "cancelled"
    assert {window.graph.node_state(i) for i in (1, 2, 3)} == {"cancelled"}


def test_switching_conversations_while_a_turn_runs(window, qtbot):
    from core.engine.pipeline import TurnResult

    store = window.store
    a = store.new_conversation("A: running")
    b = store.new_conversation("B: other")
    store.add_message(b.id, "user", "old question in B")
    window.sidebar.reload()
    window.sidebar.select(a.id)
    turn_id = "run-a"
    store.begin_turn(a.id, turn_id, "summarise the report")
    window.session.running_turn, window.session.running_conv = turn_id, a.id
    window.turns[turn_id] = TurnState(turn_id, "summarise the report")
    window.open_conversation(a.id)
    bus = window.host.bus
    _emit_from_thread(bus, [ev.PlanReady(turn_id, PLAN), ev.ResponseToken(turn_id, "First part. ")])
    qtbot.waitUntil(lambda: window.turns[turn_id].answer == "First part. ")

    window.sidebar.select(b.id)  # look at another conversation meanwhile
    assert [x.text for x in window.chat.bubbles] == ["old question in B"]
    _emit_from_thread(bus, [ev.ResponseToken(turn_id, "Second part.")])
    qtbot.waitUntil(lambda: window.turns[turn_id].answer == "First part. Second part.")
    assert [x.text for x in window.chat.bubbles] == ["old question in B"]  # B's chat untouched

    window.sidebar.select(a.id)  # back: the running answer is there and keeps streaming
    bubble = window.chat.bubble_for(turn_id)
    assert bubble.text == "First part. Second part." and "working" in bubble.status.text()
    window.host.turn_done.emit(a.id, TurnResult(turn_id, "summarise the report", status="done",
                                                answer="First part. Second part. Done."))
    qtbot.waitUntil(lambda: bubble.text == "First part. Second part. Done.")
    assert store.messages(a.id)[-1].content == "First part. Second part. Done."
    assert [m.content for m in store.messages(b.id)] == ["old question in B"]


def test_engine_that_cannot_start_is_reported_and_turns_fail_cleanly(qtbot, tmp_path):
    from desktop.app import create_window

    # The engine process builds its engine with this factory, which raises like a missing model.
    win, store, host = create_window("tests.engine_doubles:broken_engine")
    qtbot.addWidget(win)
    win.show()
    host.start()
    qtbot.waitUntil(lambda: host.state == "error", timeout=10000)
    qtbot.waitUntil(lambda: "could not start" in win.engine_label.text(), timeout=5000)
    assert "model.gguf" in win.engine_label.text()
    win.composer.input.setPlainText("hello")
    with qtbot.waitSignal(host.turn_failed, timeout=10000):
        win.composer.send()
    turn_id = next(iter(win.turns))
    qtbot.waitUntil(lambda: not win.composer.busy)
    bubble = win.chat.bubble_for(turn_id)
    assert bubble.status.text().startswith("Failed: The engine is not available")
    assert store.turn(turn_id)["status"] == "failed"
    assert "model.gguf" in store.messages(win.conv_id)[-1].content
    host.close()
    store.close()


def test_download_progress_of_a_turn_shows_in_the_status_bar(window, qtbot):
    turn_id = "dl1"
    window.turns[turn_id] = TurnState(turn_id, "detect objects")
    window.session.running_turn = turn_id
    window.show_turn(turn_id)
    _emit_from_thread(window.host.bus, [
        ev.PlanReady(turn_id, {"tasks": [{"id": 1, "task": "object-detection", "dep": [], "args": {"image": "a.png"}}]}),
        ev.TaskSelected(turn_id, 1, "object-detection", "org/detector", "transformers", "not cached: will download")])
    qtbot.waitUntil(lambda: window.graph.node_state(1) == "pending")
    _emit_from_thread(window.host.bus, [ev.DownloadProgress(model="org/detector", filename="model.safetensors",
                                                            done_bytes=3 * 1024 * 1024, total_bytes=12 * 1024 * 1024,
                                                            speed_bps=1024 * 1024, eta_s=9.0)])
    qtbot.waitUntil(lambda: "org/detector" in window.statusBar().currentMessage())
    assert window.statusBar().currentMessage() == ("Downloading org/detector / model.safetensors: 3.0 of 12.0 MB "
                                                   "(1.0 MB/s, 9 s left)")
    node = window.graph.nodes[1]  # the task waiting for that model shows the download on its node
    assert node.state == "running" and node.fraction == pytest.approx(0.25)
    assert "downloading model.safetensors" in node.detail


def test_export_from_the_sidebar(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    store = window.store
    conv = store.new_conversation("Shapes")
    _stored_turn(store, conv.id, tmp_path)
    window.sidebar.reload(select=conv.id)
    # The file dialogs answer as a user would: a file name, then a folder.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "out" / "shapes.md"), ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "out"))
    md = window.sidebar.ask_export(conv.id, "md")
    assert md.read_text(encoding="utf-8").startswith("# Shapes")
    js = window.sidebar.ask_export(conv.id, "json")
    assert js == tmp_path / "out" / "Shapes" / "conversation.json"
    assert (js.parent / "artifacts" / "stored1" / "artifacts" / "task2-object-detection.png").is_file()
