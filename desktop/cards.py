"""Result cards under an answer: one card per task, saying which task (#N, type) and model made it
and how long it took, with the result as a thing a person can use — an image (click for a large
view, save), audio (play, save), video (play, save), text (copy), a table of scored labels. File
paths stay behind "Show in folder"; the card shows file names only."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.response.evidence import NeededModel, guess_text, guesses, percent, short_error
from desktop.files import kind_of
from desktop.media import AudioPlayer, TextPreview

TEXT_SHOWN = 600  # characters of a text result shown on its card (Copy copies all of it)
TABLE_ROWS = 5
THUMB_W, THUMB_H = 320, 200


def card_title(r: dict[str, Any]) -> str:
    model = str(r.get("model") or "").split("/")[-1]
    secs = r.get("duration_s")
    parts = [f"#{r.get('id')} {r.get('task', '')}", model, f"{secs:.1f} s" if isinstance(secs, (int, float)) else ""]
    return " · ".join(p for p in parts if p)


def table_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) for the structured part of an output worth a table; ([], []) when none."""
    for key in ("labels", "objects", "entities", "answers", "options", "segments"):
        items = data.get(key)
        if not (isinstance(items, list) and items and all(isinstance(i, dict) for i in items)):
            continue
        cols = [c for c in ("label", "text", "answer", "token", "start", "end") if any(c in i for i in items)]
        if any("score" in i for i in items):
            cols.append("score")
        rows = []
        for item in items[:TABLE_ROWS]:
            row = []
            for c in cols:
                v = item.get(c)
                row.append(percent(v) if c == "score" and isinstance(v, (int, float)) else "" if v is None else str(v))
            rows.append(row)
        return cols, rows
    return [], []


def _button(text: str, slot) -> QPushButton:  # noqa: ANN001 - a Qt slot
    b = QPushButton(text)
    b.setObjectName("cardButton")
    b.clicked.connect(slot)
    return b


class ImageViewer(QDialog):
    """The image large, in a scroll area (fits the screen; never enlarged past 100 %)."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(path.name)
        pix = QPixmap(str(path))
        screen = QGuiApplication.primaryScreen().availableGeometry()
        max_w, max_h = int(screen.width() * 0.85), int(screen.height() * 0.85)
        if pix.width() > max_w or pix.height() > max_h:
            pix = pix.scaled(max_w, max_h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.image = QLabel()
        self.image.setPixmap(pix)
        area = QScrollArea()
        area.setWidget(self.image)
        area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(area)
        self.resize(min(pix.width() + 30, max_w), min(pix.height() + 30, max_h))


class Thumb(QLabel):
    clicked = Signal()

    def __init__(self, path: Path) -> None:
        super().__init__()
        pix = QPixmap(str(path))
        if pix.isNull():
            self.setText(f"{path.name} (cannot be shown)")
            return
        if pix.width() > THUMB_W or pix.height() > THUMB_H:
            pix = pix.scaled(THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pix)
        self.setObjectName("thumb")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to view it large")

    def mousePressEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        self.clicked.emit()


class VideoPlayer(QFrame):
    """Play/stop a video in the card. QtMultimedia loads on the first Play (slow to import)."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._player = None
        self.screen_widget: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.button = _button("▶ Play video", self.toggle)
        self._layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignLeft)

    def toggle(self) -> None:
        if self._player is None:
            try:
                from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
                from PySide6.QtMultimediaWidgets import QVideoWidget
            except ImportError:  # PySide6-Addons missing: hand the file to the system player
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
                return
            self.screen_widget = QVideoWidget(self)
            self.screen_widget.setMinimumSize(THUMB_W, THUMB_H)
            self._layout.insertWidget(0, self.screen_widget)
            self._output = QAudioOutput(self)
            self._player = QMediaPlayer(self)
            self._player.setAudioOutput(self._output)
            self._player.setVideoOutput(self.screen_widget)
            self._player.setSource(QUrl.fromLocalFile(str(self.path)))
            self._player.playbackStateChanged.connect(
                lambda s: self.button.setText("■ Stop" if s == self._player.PlaybackState.PlayingState
                                              else "▶ Play video"))
        if self._player.playbackState() == self._player.PlaybackState.PlayingState:
            self._player.stop()
        else:
            self._player.play()


class ResultCard(QFrame):
    """One task's result. `download_requested(task_id, model)` asks the window to fetch a missing model."""

    download_requested = Signal(int, str)

    def __init__(self, result: dict[str, Any], need: NeededModel | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.result = result
        self.task_id = int(result.get("id") or 0)
        self.files: list[Path] = []
        self.viewer: ImageViewer | None = None
        self.copy_button: QPushButton | None = None
        self.download_button: QPushButton | None = None
        self.table: QTableWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        self.title = QLabel(card_title(result))
        self.title.setObjectName("cardTitle")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        status = str(result.get("status") or "done")
        output = result.get("output") or {}
        if status != "done":
            self._failed(layout, status, str(result.get("error") or ""), need)
            return
        data = output.get("data") or {}
        unsure = guesses(data)
        if unsure:
            note = QLabel(f"Not sure: {guess_text(unsure)}")
            note.setObjectName("cardWarning")
            note.setWordWrap(True)
            layout.addWidget(note)
        for f in output.get("files") or []:
            path = Path(str(f.get("path", "")))
            self.files.append(path)
            layout.addWidget(self._file_widget(path))
        header, rows = table_rows(data)
        if rows:
            self.table = QTableWidget(len(rows), len(header))
            self.table.setHorizontalHeaderLabels(header)
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    self.table.setItem(i, j, QTableWidgetItem(value))
            self.table.verticalHeader().hide()
            self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
            self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            self.table.horizontalHeader().setStretchLastSection(True)
            self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            self.table.setFixedHeight(self.table.horizontalHeader().height() + 4 +
                                      sum(self.table.rowHeight(i) for i in range(len(rows))))
            layout.addWidget(self.table)
        text = str(output.get("text") or "")
        if text and not rows and (self._text_is_the_result() or not self.files):
            self.full_text = text
            shown = text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN] + " …"
            body = QLabel(shown)
            body.setObjectName("cardText")
            body.setWordWrap(True)
            body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(body)
            self.text_label = body
            self.copy_button = _button("Copy", self.copy_text)
            layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignLeft)

    def _text_is_the_result(self) -> bool:
        """A task whose output is text (OCR, a transcript, a summary) shows it even beside its files (the
        annotated page); a task that makes media has a text that only describes the file."""
        from core.tasks import TASKS

        spec = TASKS.get(str(self.result.get("task", "")))
        return spec is not None and spec.output == "text"

    def _failed(self, layout: QVBoxLayout, status: str, error: str, need: NeededModel | None) -> None:
        if need is not None:
            licence = f", licence {need.license}" if need.license else ""
            msg = QLabel(f"Not run: needs <b>{need.model}</b> ({need.size_text()}{licence}), not installed.")
            msg.setObjectName("cardWarning")
            msg.setWordWrap(True)
            layout.addWidget(msg)
            self.download_button = _button(f"Download {need.size_text()} and run",
                                           lambda: self.download_requested.emit(self.task_id, need.model))
            layout.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignLeft)
            return
        why = short_error(status, error)
        msg = QLabel(why[0].upper() + why[1:] if why.lower().startswith(status) else f"{status.capitalize()}: {why}")
        msg.setObjectName("cardError")
        msg.setWordWrap(True)
        layout.addWidget(msg)

    def _file_widget(self, path: Path) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        if not path.exists():
            col.addWidget(QLabel(f"{path.name} (the file is no longer there)"))
            return box
        kind = kind_of(path)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        if kind == "image":
            thumb = Thumb(path)
            thumb.clicked.connect(lambda: self.open_image(path))
            col.addWidget(thumb, 0, Qt.AlignmentFlag.AlignLeft)
            buttons.addWidget(_button("View large", lambda: self.open_image(path)))
        elif kind == "audio":
            col.addWidget(AudioPlayer(path, box), 0, Qt.AlignmentFlag.AlignLeft)
        elif kind == "video":
            col.addWidget(VideoPlayer(path, box), 0, Qt.AlignmentFlag.AlignLeft)
        elif kind == "text":
            col.addWidget(TextPreview(path, box), 0, Qt.AlignmentFlag.AlignLeft)
        name = QLabel(path.name)
        name.setObjectName("cardFile")
        name.setWordWrap(True)
        col.addWidget(name)
        buttons.addWidget(_button("Save as…", lambda: self.save_as(path)))
        buttons.addWidget(_button("Show in folder", lambda: self.show_in_folder(path)))
        buttons.addStretch(1)
        col.addLayout(buttons)
        return box

    # ------------------------------------------------------------------ actions
    def open_image(self, path: Path) -> ImageViewer:
        self.viewer = ImageViewer(path, self.window())
        self.viewer.show()
        return self.viewer

    def save_as(self, path: Path) -> Path | None:
        start = str(Path.home() / path.name)
        target, _ = QFileDialog.getSaveFileName(self, "Save as", start, f"*{path.suffix}")
        if not target:
            return None
        dest = Path(target)
        if not dest.suffix:
            dest = dest.with_suffix(path.suffix)
        try:
            shutil.copyfile(path, dest)
        except OSError as e:
            self.title.setText(f"{card_title(self.result)} — could not save: {e.strerror}")
            return None
        return dest

    def show_in_folder(self, path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(getattr(self, "full_text", ""))
        if self.copy_button is not None:
            self.copy_button.setText("Copied")


class ResultCards(QWidget):
    """The cards of one turn, in plan order."""

    download_requested = Signal(int, str)

    def __init__(self, result: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from core.response.evidence import missing_for

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(6)
        order = [t.get("id") for t in (result.get("plan") or {}).get("tasks") or []]
        rows = sorted(result.get("results") or [], key=lambda r: order.index(r.get("id"))
                      if r.get("id") in order else 1_000 + int(r.get("id") or 0))
        self.cards: list[ResultCard] = []
        for r in rows:
            need = missing_for(str(r.get("task", "")), str(r.get("status")), r.get("model"), r.get("error"))
            card = ResultCard(r, need, self)
            card.download_requested.connect(self.download_requested)
            layout.addWidget(card)
            self.cards.append(card)

    def card(self, task_id: int) -> ResultCard | None:
        return next((c for c in self.cards if c.task_id == task_id), None)
