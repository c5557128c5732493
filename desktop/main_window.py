"""The main window: conversations | chat + input | task graph + node details, and a status bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core import events as ev
from core.config.settings import Settings
from core.engine.store import Store
from desktop import theme
from desktop.adapter import EventAdapter
from desktop.chat import ChatView, MessageBubble
from desktop.composer import Composer
from desktop.details import TaskDetails
from desktop.engine_host import EngineHost
from desktop.graph import TaskGraphView
from desktop.jobs import Job
from desktop.session import Session, SessionError
from desktop.sidebar import Sidebar
from desktop.state import TurnState


class MainWindow(QMainWindow):
    def __init__(self, store: Store, host: EngineHost, settings: Settings) -> None:
        super().__init__()
        self.store, self.host, self.settings = store, host, settings
        self.setWindowTitle("Maestro")
        theme.apply(self)
        self.setAcceptDrops(True)
        self.resize(1360, 860)

        self.session = Session(store)  # the conversation and its turns; the window only shows them
        self.shown_turn = ""
        self.fetch: Job | None = None  # a model download started from a node or a card
        self.fetch_for: tuple[str, int, str] = ("", 0, "")  # (turn id, task id, model id) it is for

        self.sidebar = Sidebar(store)
        self.chat = ChatView()
        self.composer = Composer()
        self.graph = TaskGraphView()
        self.details = TaskDetails()
        self.graph_title = QLabel("Task graph")
        self.graph_title.setObjectName("panelTitle")

        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 8, 8)
        center_layout.addWidget(self.chat, 1)
        center_layout.addWidget(self.composer)

        right_split = QSplitter(Qt.Orientation.Vertical)
        graph_box = QWidget()
        graph_layout = QVBoxLayout(graph_box)
        graph_layout.setContentsMargins(6, 6, 6, 0)
        graph_layout.addWidget(self.graph_title)
        graph_layout.addWidget(self.graph, 1)
        right_split.addWidget(graph_box)
        right_split.addWidget(self.details)
        right_split.setSizes([460, 300])

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.sidebar)
        split.addWidget(center)
        split.addWidget(right_split)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 3)
        split.setSizes([220, 560, 580])
        self.setCentralWidget(split)

        self.engine_label = QLabel()
        self.device_label = QLabel()
        self.memory_label = QLabel()
        for w in (self.engine_label, self.device_label):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(self.memory_label)
        self._memory_timer = QTimer(self)
        self._memory_timer.setInterval(2000)
        self._memory_timer.timeout.connect(self._show_memory)
        self._memory_timer.start()
        self._show_memory()
        self._build_menus()

        self.adapter = EventAdapter(self)
        self.adapter.attach(host.bus)
        self.adapter.event.connect(self._on_event)
        self.adapter.tokens.connect(self._on_tokens)
        host.status_changed.connect(self._on_engine_status)
        host.info_changed.connect(self._on_engine_info)
        host.turn_done.connect(self._on_turn_done)
        host.turn_failed.connect(self._on_turn_failed)
        host.engine_crashed.connect(self._on_engine_crashed)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.sidebar.selected.connect(self.open_conversation)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.chat.turn_clicked.connect(self.show_turn)
        self.graph.node_clicked.connect(self._on_node_clicked)
        self.details.rerun_requested.connect(self.rerun)
        self.details.download_requested.connect(self.download_for_task)
        self.chat.download_requested.connect(self.download_for_task)
        self.graph.download_clicked.connect(lambda tid: self.download_for_task(self.shown_turn, tid, ""))
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):  # Qt 6.5+: follow the OS when it switches
            hints.colorSchemeChanged.connect(lambda _scheme: self.restyle())

        self._on_engine_status(host.state if host.state != "idle" else "loading",
                               {"ready": "Ready", "error": f"The engine could not start: {host.error}"}.get(
                                   host.state, "Loading the controller model…"))
        self.sidebar.reload()
        ids = self.sidebar.ids()
        if ids:
            self.sidebar.select(ids[0])
        if store.interrupted_on_open:
            self.statusBar().showMessage(
                f"{store.interrupted_on_open} turn(s) were running when Maestro last stopped; "
                "they are marked interrupted.", 10000)

    # The session's state, as the window's tests and benchmarks reach it.
    @property
    def turns(self) -> dict[str, TurnState]:
        return self.session.turns

    @property
    def conv_id(self) -> str:
        return self.session.conv_id

    @conv_id.setter
    def conv_id(self, conv_id: str) -> None:
        self.session.conv_id = conv_id

    @property
    def running_turn(self) -> str:
        return self.session.running_turn

    # ------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        new = QAction("New conversation", self)
        new.setShortcut(QKeySequence.StandardKey.New)
        new.triggered.connect(self.new_conversation)
        file_menu.addAction(new)
        attach = QAction("Attach files…", self)
        attach.setShortcut(QKeySequence("Ctrl+O"))
        attach.triggered.connect(self.composer.pick_files)
        file_menu.addAction(attach)
        file_menu.addSeparator()
        file_menu.addAction("Export conversation as Markdown…",
                            lambda: self.conv_id and self.sidebar.ask_export(self.conv_id, "md"))
        file_menu.addAction("Export conversation as JSON with files…",
                            lambda: self.conv_id and self.sidebar.ask_export(self.conv_id, "json"))
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        tools = self.menuBar().addMenu("&Tools")
        tools.addAction("Models…", self.open_models)
        tools.addAction("Settings…", self.open_settings)
        tools.addSeparator()
        kill = QAction("Stop the engine and restart it", self)
        kill.setShortcut(QKeySequence("Ctrl+Shift+K"))
        kill.setToolTip("For an engine that does not answer Stop: ends its process; finished results are kept")
        kill.triggered.connect(self.kill_engine)
        tools.addAction(kill)
        tools.addAction("Open logs", self.open_logs)
        view = self.menuBar().addMenu("&View")
        for text, keys, slot in (("Focus the message box", ["Ctrl+L"], self.focus_input),
                                 ("Stop the running request", ["Esc", "Ctrl+."], self.stop),
                                 ("Search conversations", ["Ctrl+F"], self.focus_search)):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(slot)
            view.addAction(action)
            self.addAction(action)  # works while the menu bar is hidden too
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("Keyboard shortcuts", self.show_shortcuts)
        help_menu.addAction("Welcome: this machine and its controller…", self.open_welcome)

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(action, keys) of every menu action with a shortcut, as Help lists them."""
        rows = []
        for menu_action in self.menuBar().actions():
            for action in menu_action.menu().actions():
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
                if keys:
                    rows.append((action.text().replace("&", ""), keys))
        return rows

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td>{a}&nbsp;&nbsp;</td><td><b>{k}</b></td></tr>" for a, k in self.shortcut_table())
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>"
                          "<p>In the message box: Enter sends, Shift+Enter starts a new line.</p>",
                          QMessageBox.StandardButton.Close, self)
        box.open()
        self.shortcuts_box = box

    def focus_input(self) -> None:
        self.composer.input.setFocus()

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def open_welcome(self) -> None:
        from desktop.welcome import WelcomeDialog

        dialog = WelcomeDialog(self.settings, self)
        if dialog.exec() and dialog.settings.controller != self.settings.controller:
            self.apply_settings(dialog.settings)

    def restyle(self) -> None:
        """The OS switched between light and dark: follow it."""
        theme.apply(self)
        self.graph.restyle()
        if self.details.turn is not None:
            self.details.refresh()

    def open_models(self) -> None:
        from desktop.models_dialog import ModelManager

        dialog = ModelManager(self.settings, self.host.bus, self)
        dialog.exec()
        self.settings = dialog.settings

    def open_logs(self) -> None:
        """Show the folder with the rotating logs (what a bug report needs)."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from core.config.logs import logs_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(logs_dir())))

    def open_settings(self) -> None:
        from desktop.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, settings: Settings) -> None:
        """Use new settings: the engine reloads with them (now, or after the running turn)."""
        self.settings = settings
        if self.host.busy:
            self.statusBar().showMessage("Settings saved; the engine reloads after the running request.", 8000)
            self.host.turn_done.connect(self._reload_engine_once)
            self.host.turn_failed.connect(self._reload_engine_once)
        else:
            self.host.restart(settings)
        if settings.data_dir and Path(settings.data_dir).resolve() != self.store.path.parent.resolve():
            self.statusBar().showMessage("The new data folder is used from the next start.", 8000)

    def _reload_engine_once(self, *_args: Any) -> None:
        for signal in (self.host.turn_done, self.host.turn_failed):
            try:
                signal.disconnect(self._reload_engine_once)
            except (RuntimeError, TypeError):
                pass
        QTimer.singleShot(0, lambda: self.host.restart(self.settings))

    # ------------------------------------------------------------------ conversations
    def new_conversation(self) -> None:
        self.session.new_conversation()
        self.sidebar.list.clearSelection()
        self.sidebar.list.setCurrentItem(None)
        self.chat.clear()
        self._show_turn_state(None)
        self.composer.input.setFocus()

    def open_conversation(self, conv_id: str) -> None:
        if not conv_id:
            self.new_conversation()
            return
        items, last_turn = self.session.open(conv_id)
        self.chat.clear()
        for item in items:
            bubble = self.chat.add_message(item.role, item.text, item.files or None, item.turn_id)
            if item.result:
                self.chat.add_result_files(bubble, item.result)
            if item.status:
                bubble.set_status(item.status)
        self.show_turn(last_turn)

    def delete_conversation(self, conv_id: str) -> None:
        """Delete a conversation (the sidebar asked); the next one opens when it was on screen."""
        try:
            was_open = self.session.delete_conversation(conv_id)
        except SessionError as e:
            self.statusBar().showMessage(str(e), 8000)
            return
        self.sidebar.reload()
        if was_open:
            ids = self.sidebar.ids()
            if ids:
                self.sidebar.select(ids[0])
            else:
                self.new_conversation()

    # ------------------------------------------------------------------ turns
    def send(self, text: str, files: list[Path]) -> None:
        if self.host.busy:
            self.composer.show_notice("A request is still running; stop it or wait for it to finish.")
            return
        state = self.session.start_turn(text, files, self.host.submit)
        self.sidebar.reload(select=self.session.conv_id)
        self.chat.add_message("user", text, files, state.turn_id)
        bubble = self.chat.add_message("assistant", "", turn_id=state.turn_id)
        if state.status == "failed":  # the engine refused it while it was being sent
            bubble.set_status(f"Failed: {state.error}")
        else:
            bubble.set_status("waiting for the engine to load…" if self.host.state == "loading" else "planning…")
            self.composer.set_busy(True)
        self.show_turn(state.turn_id)

    def stop(self) -> None:
        """Stop cancels the turn; a second Stop while it is still stopping kills the engine process."""
        if self.host.busy:
            bubble = self._bubble(self.session.running_turn)
            if bubble is not None and bubble.status.text().startswith("stopping"):
                self.kill_engine()
                return
            self.host.cancel()
            if bubble:
                bubble.set_status("stopping… (press Stop again to end the engine process)")

    def kill_engine(self) -> None:
        self.statusBar().showMessage("Stopping the engine process…", 5000)
        self.host.kill()

    def rerun(self, turn_id: str, task_id: int, model_id: str) -> None:
        """Re-execute one task with another model (and its dependents); the answer is rewritten."""
        if self.host.busy:
            self.statusBar().showMessage("Wait for the running request to finish.", 6000)
            return
        try:
            job = self.session.rerun(turn_id, task_id, model_id)
        except SessionError as e:
            self.statusBar().showMessage(str(e), 6000)
            return
        if job.conv_id == self.session.conv_id:
            self.chat.add_message("assistant", f"_{job.note}…_")
            self.chat.add_message("assistant", "", turn_id=turn_id).set_status("running…")
        self.composer.set_busy(True)
        self.show_turn(turn_id)
        self.host.rerun(job.conv_id, job.previous, job.task_id, job.model)

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.DownloadProgress):
            self._show_download(event)
            self._download_on_node(event)
            return
        folded = self.session.apply(event)
        if folded is None:
            return
        state, changed = folded
        bubble = self._bubble(event.turn_id)
        if bubble is not None:
            if isinstance(event, ev.PlanReady):
                n = len(state.tasks)
                bubble.set_status(f"running {n} task{'s' if n != 1 else ''}…" if n else "answering…")
            elif isinstance(event, ev.TaskStarted):
                bubble.set_status(f"running #{event.task_id} {event.task}…")
            elif isinstance(event, ev.TurnFinished):
                bubble.set_status("")
        if event.turn_id == self.shown_turn:
            self.graph.refresh(changed)
            if self.details.turn is state and self.details.task_id in changed:
                self.details.refresh()

    def download_for_task(self, turn_id: str, task_id: int, model: str = "") -> None:
        """Fetch the model a task lacks (progress on its node), then run the task with it."""
        state = self.turns.get(turn_id)
        t = state.tasks.get(task_id) if state is not None else None
        model = model or str((t.download or {}).get("model", "")) if t is not None else model
        if t is None or not model:
            return
        if self.fetch is not None and self.fetch.running:
            self.statusBar().showMessage(f"{self.fetch_for[2]} is still downloading; one download at a time.", 6000)
            return
        from core.models import catalog

        entry = catalog.get(model, t.task)
        t.downloading, t.status, t.fraction, t.message = True, "running", None, f"downloading {model}"
        self.fetch_for = (turn_id, task_id, model)
        settings, bus = self.settings, self.host.bus

        def work(_progress, cancel):  # noqa: ANN001, ANN202 - Job's call
            from core.models import hub

            if entry is not None:
                return hub.ensure_entry(entry, progress=bus.emit, cancel=cancel, settings=settings)
            return hub.get_model(model, progress=bus.emit, cancel=cancel, settings=settings)

        self.fetch = Job(work, self)
        self.fetch.finished.connect(self._on_fetched)
        self.fetch.start()
        if turn_id == self.shown_turn:
            self.graph.refresh({task_id})
            if self.details.task_id == task_id:
                self.details.refresh()

    def _on_fetched(self, _value: object, error: str) -> None:
        turn_id, task_id, model = self.fetch_for
        state = self.turns.get(turn_id)
        t = state.tasks.get(task_id) if state is not None else None
        if t is not None:
            t.downloading, t.fraction = False, None
            t.status = "failed"
            t.message = ""
            if error:
                self.statusBar().showMessage(f"Download of {model} failed: {error}", 15000)
            else:
                t.download = None
        if turn_id == self.shown_turn:
            self.graph.refresh({task_id})
            self.details.refresh()
        if error or t is None:
            return
        if self.host.busy:
            self.statusBar().showMessage(f"Downloaded {model}; re-run task #{task_id} when the request finishes.", 10000)
            return
        self.rerun(turn_id, task_id, model)

    def _download_on_node(self, e: ev.DownloadProgress) -> None:
        """Show a model download on the node of the task that waits for that model."""
        fetching = self.fetch_for if self.fetch and self.fetch.running else ("", 0, "")
        turn_id, changed = self.session.fold_download(e, fetching)
        if changed and turn_id == self.shown_turn:
            self.graph.refresh(changed)

    def _show_download(self, e: ev.DownloadProgress) -> None:
        """A model the turn needs is being fetched (or a Models-window download): say so."""
        if e.error:
            self.statusBar().showMessage(f"Download of {e.model} failed: {e.error}", 15000)
        elif e.finished:
            self.statusBar().showMessage(f"Downloaded {e.model} / {e.filename}", 5000)
        else:
            mb = 1024 * 1024
            eta = f", {e.eta_s:.0f} s left" if e.eta_s is not None else ""
            total = f" of {e.total_bytes / mb:.1f}" if e.total_bytes else ""
            self.statusBar().showMessage(f"Downloading {e.model} / {e.filename}: {e.done_bytes / mb:.1f}{total} MB"
                                         f" ({e.speed_bps / mb:.1f} MB/s{eta})", 5000)

    def _on_tokens(self, turn_id: str, text: str) -> None:
        changed = self.session.add_tokens(turn_id, text)
        if changed is None:
            return
        bubble = self._bubble(turn_id)
        if bubble is not None:
            bubble.set_status("")
            bubble.append_text(text)
        if turn_id == self.shown_turn and changed:
            self.graph.refresh(changed)

    def _on_turn_done(self, conv_id: str, result: Any) -> None:
        final, data = self.session.finish_turn(conv_id, result)
        turn_id = final.turn_id
        self._finish_ui()
        bubble = self._bubble(turn_id)
        if bubble is not None:
            answer = data.get("answer") or ""
            bubble.set_text(answer)
            status = data.get("status")
            if status == "cancelled":
                bubble.set_status("Stopped. Finished tasks are kept; see the graph.")
            elif status == "failed" or (not answer and data.get("error")):
                bubble.set_status(f"Failed: {data.get('error') or 'no answer'}")
            else:
                bubble.set_status("")
            self.chat.add_result_files(bubble, data)
        if turn_id == self.shown_turn or not self.shown_turn:
            self.show_turn(turn_id)

    def _on_turn_failed(self, conv_id: str, turn_id: str, message: str) -> None:
        turn_id = turn_id or self.session.running_turn
        self.session.fail_turn(conv_id, turn_id, message)
        if self.session.starting:
            return  # refused while being sent: send() shows it
        self._finish_ui()
        bubble = self._bubble(turn_id) if turn_id else None
        if bubble is not None:
            bubble.set_status(f"Failed: {message}")
        else:
            self.chat.add_message("assistant", "").set_status(f"Failed: {message}")
        if turn_id == self.shown_turn:
            self.graph.refresh()

    def _finish_ui(self) -> None:
        self.composer.set_busy(False)
        self.sidebar.reload()

    def _bubble(self, turn_id: str) -> MessageBubble | None:
        # Only bubbles of the conversation on screen exist; events of a turn whose
        # conversation is not shown update its state (and the graph), not the chat.
        return self.chat.bubble_for(turn_id) if turn_id else None

    # ------------------------------------------------------------------ graph panel
    def show_turn(self, turn_id: str) -> None:
        self._show_turn_state(self.turns.get(turn_id) if turn_id else None)

    def _show_turn_state(self, state: TurnState | None) -> None:
        self.shown_turn = state.turn_id if state else ""
        self.graph.set_turn(state)
        self.details.clear()
        if state is None:
            self.graph_title.setText("Task graph")
        else:
            request = state.request if len(state.request) < 70 else state.request[:69] + "…"
            self.graph_title.setText(f"Task graph — “{request}”")

    def _on_node_clicked(self, task_id: int) -> None:
        state = self.turns.get(self.shown_turn)
        if state is None:
            return
        busy = self.host.busy
        self.details.show_task(state, task_id, not busy, "Wait for the running request to finish." if busy else "")

    # ------------------------------------------------------------------ status bar
    def _on_engine_status(self, state: str, message: str) -> None:
        colour = {"loading": "#e65100", "ready": "#2e7d32", "error": "#b71c1c"}.get(state, "#333")
        self.engine_label.setText(f"<span style='color:{colour}'>●</span> {message}")
        if state in ("ready", "error"):
            for bubble in self.chat.bubbles:
                if bubble.status.text().startswith("waiting for the engine"):
                    bubble.set_status("planning…" if state == "ready" else "")

    def _on_engine_crashed(self, words: str) -> None:
        self.statusBar().showMessage(f"The engine {words}. A new engine is starting; your conversations are "
                                     "safe.", 15000)

    def _on_engine_info(self, info: dict) -> None:
        controller = info.get("controller", "")
        self.engine_label.setToolTip(f"Controller: {controller}\n{info.get('backend', '')}".strip())
        state = self.host.state
        prefix = "● Ready" if state == "ready" else ("● Engine error" if state == "error" else "● Loading")
        colour = {"ready": "#2e7d32", "error": "#b71c1c"}.get(state, "#e65100")
        self.engine_label.setText(f"<span style='color:{colour}'>{prefix[0]}</span>{prefix[1:]} — controller: "
                                  f"{controller}")
        self.device_label.setText(f"experts on {info.get('device', '?')} ({info.get('why', '')})")
        if info.get("backend"):
            self.device_label.setText(self.device_label.text() + f"; {info['backend']}")

    def _show_memory(self) -> None:
        rss = rss_bytes() + rss_bytes(self.host.pid)  # the window and its engine process
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
        text = f"memory in use: {rss / 1024**3:.2f} GB"
        if total:
            text += f" of {total / 1024**3:.0f} GB"
        self.memory_label.setText(text)

    # ------------------------------------------------------------------ window-level drop, close
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        self.composer.accept_mime(event.mimeData())
        event.acceptProposedAction()

    def closeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        if self.host.busy:
            answer = QMessageBox.question(self, "Quit Maestro", "A request is still running. Stop it and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.host.close(5.0)
        self.adapter.detach()
        self._memory_timer.stop()
        super().closeEvent(event)


def rss_bytes(pid: int | None | str = "self") -> int:
    """Resident memory of a process (Linux /proc; elsewhere this one's peak from getrusage)."""
    if pid is None:
        return 0
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        if pid != "self":
            return 0
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
