"""The input area: text, attachments (drop, paste, picker), Send and Stop."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.config.paths import data_dir
from desktop.files import KINDS, refusal


class InputEdit(QPlainTextEdit):
    """Enter sends, Shift+Enter is a new line; dropped/pasted files and images become attachments."""

    submit = Signal()
    files_given = Signal(list)  # list[Path]
    image_pasted = Signal(QImage)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submit.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt API
        return source.hasUrls() or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt API
        local = [Path(u.toLocalFile()) for u in source.urls() if u.isLocalFile()] if source.hasUrls() else []
        if local:
            self.files_given.emit(local)
        elif source.hasImage():
            self.image_pasted.emit(QImage(source.imageData()))
        else:
            super().insertFromMimeData(source)


class Composer(QFrame):
    send_requested = Signal(str, list)  # text, list[Path]
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAcceptDrops(True)
        self.files: list[Path] = []
        self.busy = False
        self.ready = True  # False while the engine warms up; Send stays usable and waits

        self.input = InputEdit()
        self.input.setObjectName("input")
        self.input.setPlaceholderText("Ask Maestro… (Enter sends, Shift+Enter for a new line; drop or paste files)")
        self.input.setFixedHeight(64)
        self.input.submit.connect(self.send)
        self.input.files_given.connect(self.add_files)
        self.input.image_pasted.connect(self.add_image)

        self.chips = QHBoxLayout()
        self.chips.setSpacing(6)
        self.chips.addStretch(1)
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()

        self.attach_button = QToolButton()
        self.attach_button.setText("Attach…")
        self.attach_button.setToolTip("Attach images, audio, video or text files")
        self.attach_button.clicked.connect(self.pick_files)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("send")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.attach_button)
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        layout.addLayout(self.chips)
        layout.addWidget(self.notice)
        layout.addWidget(self.input)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ attachments
    def add_files(self, paths: list[Path]) -> list[str]:
        """Attach what can be read; return (and show) one reason per refused file."""
        refused = []
        for p in paths:
            p = Path(p)
            why = refusal(p)
            if why:
                refused.append(why)
            elif p.resolve() not in self.files:
                self.files.append(p.resolve())
                self._add_chip(p.resolve())
        self.show_notice(" ".join(refused))
        return refused

    def add_image(self, image: QImage) -> None:
        if image.isNull():
            self.show_notice("The clipboard image could not be read.")
            return
        folder = data_dir() / "pasted"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"pasted-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}.png"
        if not image.save(str(path), "PNG"):
            self.show_notice("The pasted image could not be saved.")
            return
        self.add_files([path])

    def pick_files(self) -> None:
        patterns = " ".join(f"*{s}" for suffixes in KINDS.values() for s in sorted(suffixes))
        names, _ = QFileDialog.getOpenFileNames(self, "Attach files", "", f"Supported files ({patterns});;All files (*)")
        if names:
            self.add_files([Path(n) for n in names])

    def remove_file(self, path: Path) -> None:
        if path in self.files:
            self.files.remove(path)
        for i in range(self.chips.count()):
            w = self.chips.itemAt(i).widget()
            if w is not None and w.property("path") == str(path):
                self.chips.removeWidget(w)
                w.hide()  # deleteLater waits for the event loop; never leave it drawn meanwhile
                w.setParent(None)
                w.deleteLater()
                break

    def _add_chip(self, path: Path) -> None:
        chip = QFrame()
        chip.setObjectName("chip")
        chip.setProperty("path", str(path))
        row = QHBoxLayout(chip)
        row.setContentsMargins(8, 2, 4, 2)
        row.addWidget(QLabel(path.name))
        remove = QToolButton()
        remove.setText("✕")
        remove.setAutoRaise(True)
        remove.setToolTip(f"Remove {path.name}")
        remove.clicked.connect(lambda: self.remove_file(path))
        row.addWidget(remove)
        self.chips.insertWidget(self.chips.count() - 1, chip)

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # ------------------------------------------------------------------ send / stop
    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if self.busy:
            return
        if not text:
            self.show_notice("Type a request first." if self.files else "")
            return
        files = list(self.files)
        self.input.clear()
        for f in files:
            self.remove_file(f)
        self.show_notice("")
        self.send_requested.emit(text, files)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)
        self.stop_button.setEnabled(busy)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            self._dragging(True)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        self._dragging(False)

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        self._dragging(False)
        self.accept_mime(event.mimeData())
        event.acceptProposedAction()

    def accept_mime(self, mime: QMimeData) -> None:
        if mime.hasUrls():
            local = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
            if local:
                self.add_files(local)
            else:
                self.show_notice("Only local files can be attached (links are not downloaded).")
        elif mime.hasImage():
            self.add_image(QImage(mime.imageData()))

    def _dragging(self, on: bool) -> None:
        self.setProperty("dragging", "true" if on else "false")
        self.style().unpolish(self)
        self.style().polish(self)
