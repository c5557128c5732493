"""Conversation sidebar: new, search, rename, delete, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.config.paths import safe_name
from core.engine.store import Store
from core.errors import StoreError


class Sidebar(QWidget):
    selected = Signal(str)  # conversation id ("" = none left)
    new_requested = Signal()
    delete_requested = Signal(str)  # the window's session deletes it (it knows whether a turn runs there)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.store = store
        self.new_button = QPushButton("+  New conversation")
        self.new_button.clicked.connect(self.new_requested)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search conversations…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self.reload())
        self.list = QListWidget()
        self.list.setObjectName("conversations")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemDoubleClicked.connect(lambda item: self.ask_rename(item.data(Qt.ItemDataRole.UserRole)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self.setMinimumWidth(200)
        self._quiet = False

    def reload(self, select: str | None = None) -> None:
        """Refill from the store (search applied), keeping or moving the selection."""
        current = select if select is not None else self.current_id()
        self._quiet = True
        try:
            self.list.clear()
            for conv in self.store.conversations(self.search.text()):
                item = QListWidgetItem(conv.title)
                item.setData(Qt.ItemDataRole.UserRole, conv.id)
                item.setToolTip(conv.title)
                self.list.addItem(item)
                if conv.id == current:
                    self.list.setCurrentItem(item)
        finally:
            self._quiet = False

    def current_id(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else ""

    def ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def titles(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def select(self, conv_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == conv_id:
                self.list.setCurrentRow(i)
                return

    def _current_changed(self, current: QListWidgetItem | None, _previous) -> None:  # noqa: ANN001
        if not self._quiet:
            self.selected.emit(current.data(Qt.ItemDataRole.UserRole) if current else "")

    # ------------------------------------------------------------------ actions
    def rename(self, conv_id: str, title: str) -> None:
        self.store.rename_conversation(conv_id, title)
        self.reload()

    def delete(self, conv_id: str) -> None:
        self.delete_requested.emit(conv_id)

    def ask_rename(self, conv_id: str) -> None:
        try:
            old = self.store.conversation(conv_id).title
        except StoreError:
            return
        title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=old)
        if ok and title.strip():
            self.rename(conv_id, title)

    def ask_delete(self, conv_id: str) -> None:
        title = self.store.conversation(conv_id).title
        answer = QMessageBox.question(self, "Delete conversation",
                                      f"Delete “{title}” with its messages and result files?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(conv_id)

    def ask_export(self, conv_id: str, fmt: str) -> Path | None:
        title = safe_name(self.store.conversation(conv_id).title, "conversation")
        if fmt == "md":
            name, _ = QFileDialog.getSaveFileName(self, "Export as Markdown", f"{title}.md", "Markdown (*.md)")
            return self.store.export_markdown(conv_id, Path(name)) if name else None
        folder = QFileDialog.getExistingDirectory(self, "Export as JSON with artifacts (choose a folder)")
        return self.store.export_json(conv_id, Path(folder) / title) if folder else None

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        conv_id = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.ask_rename(conv_id))
        menu.addAction("Export as Markdown…", lambda: self.ask_export(conv_id, "md"))
        menu.addAction("Export as JSON with files…", lambda: self.ask_export(conv_id, "json"))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self.ask_delete(conv_id))
        menu.exec(self.list.mapToGlobal(pos))
