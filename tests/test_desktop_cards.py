"""Result cards (open large, save, show in folder, copy, table), the node's Download button, dark mode
and shortcuts, and the first-run welcome's choice — on the real window, offscreen, no engine."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel

from core import events as ev
from core.config.paths import new_session_dir
from core.plan import parse_plan
from core.response.responder import sources_footer
from core.results import TaskResult
from desktop.state import TurnState
from tests import hubserver
from tests.test_desktop import _png, _wav

hub_server = hubserver.hub_server
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("propagateSizeHints")]

OFFLINE = ("needs Salesforce/blip-image-captioning-base, 990 MB, not installed (offline); "
           "`python main.py models get Salesforce/blip-image-captioning-base` fetches it when online")
PLAN = {"tasks": [
    {"id": 1, "task": "text-to-image", "dep": [], "args": {"text": "a red fox"}},
    {"id": 2, "task": "text-to-speech", "dep": [], "args": {"text": "a red fox"}},
    {"id": 3, "task": "optical-character-recognition", "dep": [], "args": {"image": "note.png"}},
    {"id": 4, "task": "image-classification", "dep": [], "args": {"image": "note.png"}},
    {"id": 5, "task": "image-to-text", "dep": [], "args": {"image": "note.png"}},
]}
OCR_TEXT = "Meeting moved to Friday, 10:00, room 4. " * 20


@pytest.fixture
def window(qtbot):
    from desktop.app import create_window

    win, store, _host = create_window()
    qtbot.addWidget(win)
    win.resize(1300, 860)
    win.show()
    qtbot.waitExposed(win)
    yield win
    store.close()


def _turn(session: Path) -> dict:
    art = session / "artifacts"
    art.mkdir(parents=True, exist_ok=True)
    image = _png(art / "task1-text-to-image.png", "#aa4422")
    wav = _wav(art / "task2-text-to-speech.wav", 1.0)
    results = [
        {"id": 1, "task": "text-to-image", "status": "done", "model": "stabilityai/sd-turbo", "duration_s": 12.3,
         "output": {"text": "a 64x48 image", "files": [{"path": str(image), "modality": "image"}], "data": {}}},
        {"id": 2, "task": "text-to-speech", "status": "done", "model": "rhasspy/piper-voices", "duration_s": 0.8,
         "output": {"text": "spoke 3 words", "files": [{"path": str(wav), "modality": "audio"}], "data": {}}},
        {"id": 3, "task": "optical-character-recognition", "status": "done", "model": "local:rapidocr",
         "duration_s": 1.1, "output": {"text": OCR_TEXT, "data": {}, "files": [  # the page with its boxes, too
             {"path": str(_png(art / "task3-optical-character-recognition.png")), "modality": "image"}]}},
        {"id": 4, "task": "image-classification", "status": "done", "model": "local:efficientnet-lite0",
         "duration_s": 0.4, "output": {"text": "football helmet (0.16)", "files": [], "data": {"labels": [
             {"label": "football helmet", "score": 0.1616}, {"label": "bobsled", "score": 0.106}]}}},
        {"id": 5, "task": "image-to-text", "status": "failed", "model": None, "error": OFFLINE},
    ]
    plan = parse_plan(PLAN)
    footer = sources_footer(plan, {r["id"]: TaskResult.from_dict(r) for r in results})
    return {"turn_id": "c1", "request": "make, speak, read", "status": "done", "plan": PLAN,
            "answer": "Here is the fox (task #1) and its voice (task #2)." + footer, "results": results,
            "selections": {}, "timings": {}}


def _show(window, data: dict):
    conv = window.store.new_conversation("cards")
    window.conv_id = conv.id
    window.turns["c1"] = TurnState.from_result(data)
    bubble = window.chat.add_message("assistant", data["answer"], turn_id="c1")
    window.chat.add_result_files(bubble, data)
    window.show_turn("c1")
    return bubble


def test_cards_show_each_task_and_open_save_copy(window, qtbot, tmp_path, monkeypatch):
    session = new_session_dir("c1")
    bubble = _show(window, _turn(session))
    cards = bubble.cards.cards
    assert [c.title.text() for c in cards] == [
        "#1 text-to-image · sd-turbo · 12.3 s", "#2 text-to-speech · piper-voices · 0.8 s",
        "#3 optical-character-recognition · local:rapidocr · 1.1 s",
        "#4 image-classification · local:efficientnet-lite0 · 0.4 s", "#5 image-to-text"]
    # The answer keeps its words; the task list moved into the cards; no temp path is shown anywhere.
    assert bubble.text == "Here is the fox (task #1) and its voice (task #2)."
    shown = " ".join(w.text() for w in bubble.findChildren(QLabel)) + bubble.body.toPlainText()
    assert str(session) not in shown and "task1-text-to-image.png" in shown

    from desktop.cards import Thumb

    qtbot.mouseClick(cards[0].findChild(Thumb), Qt.MouseButton.LeftButton)
    assert cards[0].viewer is not None and cards[0].viewer.isVisible()
    assert cards[0].viewer.image.pixmap().width() == 64  # the full image, not the thumbnail
    cards[0].viewer.close()

    saved_to = tmp_path / "out" / "fox"
    saved_to.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved_to), ""))
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    buttons = {b.text(): b for b in cards[1].findChildren(_button_type())}
    buttons["Save as…"].click()
    assert (tmp_path / "out" / "fox.wav").read_bytes() == (session / "artifacts" / "task2-text-to-speech.wav").read_bytes()
    buttons["Show in folder"].click()
    assert opened == [str(session / "artifacts")]

    assert cards[1].copy_button is None  # "spoke 3 words" only describes the audio: no text to copy
    assert cards[2].copy_button is not None and "…" in cards[2].text_label.text()  # long text is shortened...
    cards[2].copy_button.click()
    assert QGuiApplication.clipboard().text() == OCR_TEXT  # ...Copy copies all of it
    assert cards[2].copy_button.text() == "Copied"

    table = cards[3].table
    assert table is not None and table.item(0, 0).text() == "football helmet" and table.item(0, 1).text() == "16 %"
    assert "Not sure: possibly a football helmet (16 %)" in cards[3].findChild(QLabel, "cardWarning").text()

    asked: list[tuple] = []
    window.chat.download_requested.disconnect(window.download_for_task)  # the node test downloads for real
    window.chat.download_requested.connect(lambda *a: asked.append(a))
    assert "990 MB" in cards[4].download_button.text()
    cards[4].download_button.click()
    assert asked == [("c1", 5, "Salesforce/blip-image-captioning-base")]


def _button_type():
    from PySide6.QtWidgets import QPushButton

    return QPushButton


def test_node_download_button_fetches_the_model_then_runs_the_task(window, qtbot, hub_server, monkeypatch):
    hub_server.add_repo("Salesforce/blip-image-captioning-base",
                        {"config.json": "{}", "model.safetensors": b"\x01" * 3_000_000}, license="bsd-3-clause")
    hub_server.throttle_bps = 3_000_000  # slow enough to see progress on the node
    turn_id = "n1"
    window.turns[turn_id] = TurnState(turn_id, "describe the photo")
    window.show_turn(turn_id)
    bus = window.host.bus
    plan = {"tasks": [{"id": 1, "task": "image-to-text", "dep": [], "args": {"image": "a.png"}}]}
    worker = threading.Thread(target=lambda: [bus.emit(e) for e in (
        ev.PlanReady(turn_id, plan),
        ev.TaskSelected(turn_id, 1, "image-to-text", "", "", OFFLINE),
        ev.TaskFinished(turn_id, 1, "failed", {"id": 1, "task": "image-to-text", "status": "failed", "error": OFFLINE}),
        ev.TurnFinished(turn_id, "failed", "", OFFLINE))])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: window.graph.node_state(1) == "download")
    node = window.graph.nodes[1]
    assert "990 MB · bsd-3-clause" in node.detail and node.model == "blip-image-captioning-base"
    window._on_node_clicked(1)
    assert "Needs a download" in window.details.browser.toPlainText()
    assert window.details.download_button.isVisible()

    reruns: list[tuple] = []
    monkeypatch.setattr(window, "rerun", lambda *a: reruns.append(a))
    fractions: list[float] = []
    seen: list[ev.DownloadProgress] = []
    window.host.bus.subscribe(lambda e: seen.append(e) if isinstance(e, ev.DownloadProgress) else None)
    centre = window.graph.mapFromScene(node.mapToScene(node.button_rect().center()))
    qtbot.mouseClick(window.graph.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert window.fetch is not None and window.fetch_for == (turn_id, 1, "Salesforce/blip-image-captioning-base")

    def progressed() -> bool:
        if node.fraction is not None:
            fractions.append(node.fraction)
        return bool(reruns)

    qtbot.waitUntil(progressed, timeout=20000)
    assert any(0 < f < 1 for f in fractions), (fractions, seen)  # the download's progress was drawn on the node
    assert reruns == [(turn_id, 1, "Salesforce/blip-image-captioning-base")]
    from core.models import hub

    assert hub.is_cached("Salesforce/blip-image-captioning-base", ["model.safetensors"])
    assert window.graph.node_state(1) == "failed" and not window.turns[turn_id].tasks[1].download


def test_download_refused_offline_says_so_on_the_node(window, qtbot, hub_server, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    state = TurnState("o1", "describe")
    state.apply(ev.PlanReady("o1", {"tasks": [{"id": 1, "task": "image-to-text", "dep": [], "args": {}}]}))
    state.apply(ev.TaskFinished("o1", 1, "failed", {"id": 1, "status": "failed", "error": OFFLINE}))
    window.turns["o1"] = state
    window.show_turn("o1")
    window.download_for_task("o1", 1)
    qtbot.waitUntil(lambda: not window.fetch.running, timeout=10000)
    qtbot.waitUntil(lambda: "offline mode is on" in window.statusBar().currentMessage())
    assert window.graph.node_state(1) == "download"  # still waiting for its model, button back
    assert hub_server.requests == []


def test_dark_theme_and_shortcuts_under_help(window, monkeypatch):
    from desktop import theme

    monkeypatch.setenv("MAESTRO_THEME", "dark")
    window.restyle()
    assert theme.is_dark() and "#1b1c1f" in window.styleSheet()
    assert window.graph.backgroundBrush().color().name() == "#1b1c1f"
    monkeypatch.setenv("MAESTRO_THEME", "light")
    window.restyle()
    assert not theme.is_dark() and window.graph.backgroundBrush().color().name() == "#fbfbfd"
    table = dict(window.shortcut_table())
    for action in ("New conversation", "Focus the message box", "Stop the running request", "Attach files…",
                   "Search conversations"):
        assert table.get(action), f"{action} has no shortcut"
    window.focus_search()
    assert window.sidebar.search.hasFocus() or QGuiApplication.focusObject() is window.sidebar.search


def test_pending_task_that_downloads_first_says_so(window, qtbot):
    state = TurnState("p1", "describe")
    state.apply(ev.PlanReady("p1", {"tasks": [{"id": 1, "task": "image-to-text", "dep": [], "args": {}}]}))
    state.apply(ev.TaskSelected("p1", 1, "image-to-text", "Salesforce/blip-image-captioning-base", "transformers",
                                "the default (to be downloaded, 990 MB: `python main.py models get ...`)",
                                ["Salesforce/blip-image-captioning-base"], needs_download=True))
    window.turns["p1"] = state
    window.show_turn("p1")
    assert window.graph.node_state(1) == "pending"
    assert window.graph.nodes[1].detail == "downloads 990 MB · bsd-3-clause first"


def test_first_run_welcome_choice_downloads_and_saves(qtbot, hub_server):
    from core.config.settings import Settings, load_settings
    from core.selection.recommend import GB, Machine, choice
    from desktop.welcome import WelcomeDialog, needs_welcome
    from tests.test_recommend import SMALL_GGUF

    c = choice("qwen2.5-3b")
    data = next((SMALL_GGUF / "snapshots").iterdir()).joinpath("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").read_bytes()
    hub_server.add_repo(c.repo, {c.files[0]: data}, license="apache-2.0")
    assert needs_welcome()
    four_cores = Machine("Test CPU", 4, 8, 8 * GB, 6 * GB, 200 * GB)
    dialog = WelcomeDialog(Settings(), machine=four_cores, offline=(["optical-character-recognition"],
                                                                    [("image-to-text", "needs a download")]))
    qtbot.addWidget(dialog)
    text = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "4 cores" in text and "8.0 GB" in text and "Works offline now: 1 of 2" in text
    assert dialog.radios["qwen2.5-3b"].isChecked() and "recommended" in dialog.radios["qwen2.5-3b"].text()
    assert not dialog.radios["qwen2.5-7b"].isEnabled()  # does not fit in 8 GB beside the experts
    dialog.use_button.click()
    qtbot.waitUntil(lambda: dialog.result() == dialog.DialogCode.Accepted, timeout=120000)
    assert load_settings().controller == c.setting and not needs_welcome()
    from core.llm.controllers import controller_model_path

    assert controller_model_path(c.setting).read_bytes()[:4] == b"GGUF"


def test_first_run_keeping_the_packaged_model_downloads_nothing(qtbot, hub_server):
    from core.config.settings import Settings, load_settings
    from core.selection.recommend import GB, Machine
    from desktop.welcome import WelcomeDialog, needs_welcome

    dialog = WelcomeDialog(Settings(controller="qwen2.5-coder-0.5b"), machine=Machine("CPU", 2, 2, 4 * GB, GB, GB),
                           offline=([], []))
    qtbot.addWidget(dialog)
    assert dialog.radios["qwen2.5-coder-1.5b"].isChecked()
    assert not dialog.radios["qwen2.5-3b"].isEnabled()
    dialog.use_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert load_settings().controller == "qwen2.5-coder-1.5b" and not needs_welcome()
    assert hub_server.requests == []


def test_video_result_has_a_player_and_save(qtbot, tmp_path):
    from desktop.cards import ResultCard, VideoPlayer

    clip = tmp_path / "task1-text-to-video.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")  # the card only needs the file; playing is QtMultimedia's job
    card = ResultCard({"id": 1, "task": "text-to-video", "status": "done", "model": "org/tiny-video",
                       "duration_s": 30.0, "output": {"text": "8 frames", "files": [
                           {"path": str(clip), "modality": "video"}], "data": {}}})
    qtbot.addWidget(card)
    player = card.findChild(VideoPlayer)
    assert player is not None and player.button.text() == "▶ Play video"
    labels = {b.text() for b in card.findChildren(_button_type())}
    assert {"Save as…", "Show in folder"} <= labels
    assert card.title.text() == "#1 text-to-video · tiny-video · 30.0 s"


def test_settings_choose_for_this_machine_fills_the_controller(qtbot, monkeypatch):
    import dataclasses

    from core.config.settings import Settings
    from core.selection.recommend import choice
    from desktop import welcome
    from desktop.settings_dialog import SettingsDialog

    picked = choice("qwen2.5-7b")

    def chosen(self):  # the welcome answered as a user would: the 7B, downloaded
        self.settings = dataclasses.replace(self.settings, controller=picked.setting)
        return 1

    monkeypatch.setattr(welcome.WelcomeDialog, "exec", chosen)
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.source.currentIndex() == 0  # the packaged model
    dialog.for_machine.click()
    assert dialog.collect().controller == picked.setting
    assert dialog.source.currentIndex() == 2 and dialog.hub_repo.text().endswith("-00001-of-00002.gguf")
