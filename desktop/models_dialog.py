"""Model manager: what is installed (size, runtime, licence, task), what each task can use,
downloads with progress/speed/ETA/cancel/resume, delete, total disk use, and the offline switch."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.config.settings import Settings, save_settings
from core.events import DownloadProgress, EventBus
from desktop.adapter import EventAdapter

log = logging.getLogger("maestro.desktop")
COLUMNS = ["Model", "Task", "Runtime", "Licence", "Size", "Status"]


def catalog_entries() -> list[Any]:
    """Every model the catalog knows (ModelEntry), whichever module the catalog lives in now."""
    from core.models import catalog

    finder = getattr(catalog, "all_models", None)
    if callable(finder):
        return list(finder())
    from core.models.known_models import RUNNABLE

    return list(RUNNABLE)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclasses.dataclass
class Row:
    id: str
    tasks: list[str]
    runtime: str
    license: str
    size: int  # bytes on disk when installed, else the catalog's download size
    installed: bool
    how: str  # hub | pack | pip | system | cache
    partial: bool = False  # an interrupted download is waiting to be resumed


def inventory() -> list[Row]:
    """Catalog models (one row per id) and anything else found in the models cache."""
    from core.models import downloads, hub

    cached = {r.repo_id: r for r in downloads.cached_repos()}
    rows: dict[str, Row] = {}
    for m in catalog_entries():
        if m.id in rows:
            rows[m.id].tasks.append(m.task)
            continue
        opts = m.options or {}
        if "python_package" in opts:
            how = "pip"
            installed = _importable(opts["python_package"])
        elif "command" in opts:
            import shutil

            how, installed = "system", shutil.which(str(opts["command"])) is not None
        else:
            how = "pack" if m.pack else "hub"
            installed = m.id in cached and hub.is_cached(m.id, [f for f in m.files if "*" not in f], m.revision)
        size = cached[m.id].size_on_disk if m.id in cached else m.size_bytes
        rows[m.id] = Row(m.id, [m.task], m.runtime, m.license or "?", size, installed, how)
    for repo_id, r in cached.items():
        if repo_id not in rows:
            rows[repo_id] = Row(repo_id, ["?"], "?", "?", r.size_on_disk, True, "cache")
    for row in rows.values():
        if row.how in ("hub", "pack", "cache") and _has_partial(row.id):
            row.partial, row.installed = True, False
    return sorted(rows.values(), key=lambda r: (not r.installed, r.tasks[0], r.id))


def _has_partial(repo_id: str) -> bool:
    from core.models import layout as hf_layout

    blobs = hf_layout.repo_dir(repo_id) / "blobs"
    return blobs.is_dir() and any(blobs.glob("*.incomplete"))


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class _Relay(QObject):
    """Worker thread -> GUI thread for download outcomes."""

    finished = Signal(str, str)  # repo id, error ("" = ok)


class ModelManager(QDialog):
    def __init__(self, settings: Settings, bus: EventBus | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(900, 560)
        self.settings = settings
        self.bus = bus or EventBus()
        self.adapter = EventAdapter(self)
        self.adapter.attach(self.bus)
        self.adapter.download.connect(self._on_progress)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_finished)
        self._cancel: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.downloading = ""
        self.last_error = ""
        self.rows: list[Row] = []

        self.task_filter = QComboBox()
        self.task_filter.currentIndexChanged.connect(lambda _i: self._fill())
        self.offline = QCheckBox("Offline: never touch the network")
        self.offline.setChecked(settings.offline)
        self.offline.toggled.connect(self._set_offline)
        self.total = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Task:"))
        top.addWidget(self.task_filter)
        top.addStretch(1)
        top.addWidget(self.total)
        top.addSpacing(16)
        top.addWidget(self.offline)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Columns are sized once per fill (ResizeToContents would re-measure on every setItem: O(n²)).
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        self.repo_edit = QLineEdit()
        self.repo_edit.setPlaceholderText("org/model on the Hub (or pick a row)")
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(lambda: self.start_download(self.repo_edit.text().strip()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._ask_delete)
        actions = QHBoxLayout()
        actions.addWidget(self.repo_edit, 1)
        actions.addWidget(self.download_button)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.delete_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress_label = QLabel("No download running.")
        self.progress_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        self.reload()

    # ------------------------------------------------------------------ table
    def reload(self) -> None:
        try:
            self.rows = inventory()
        except Exception as e:  # noqa: BLE001 - a broken cache entry must not close the dialog
            log.exception("model inventory failed")
            self.rows = []
            self.progress_label.setText(f"Could not read the models cache: {e}")
        current = self.task_filter.currentText()
        tasks = sorted({t for r in self.rows for t in r.tasks if t != "?"})
        self.task_filter.blockSignals(True)
        self.task_filter.clear()
        self.task_filter.addItems(["all tasks", *tasks])
        if current in tasks:
            self.task_filter.setCurrentText(current)
        self.task_filter.blockSignals(False)
        self._fill()

    def _fill(self) -> None:
        task = self.task_filter.currentText()
        shown = [r for r in self.rows if task in ("", "all tasks") or task in r.tasks]
        grey = QBrush(QColor("#80868b"))  # an explicit brush: PySide6 mis-counts an implicit GlobalColor one
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(shown))
        for i, r in enumerate(shown):
            status = ("installed" if r.installed else "partly downloaded: Download resumes it" if r.partial
                      else "not installed") + (
                {"pack": " (packaged)", "pip": " (pip package)", "system": " (system program)"}.get(r.how, ""))
            tasks = r.tasks[0] + (f" (+{len(r.tasks) - 1} more)" if len(r.tasks) > 1 else "")
            for j, value in enumerate([r.id, tasks, r.runtime, r.license,
                                       human_bytes(r.size) if r.size else "?", status]):
                item = QTableWidgetItem(value)
                if j == 1:
                    item.setToolTip(", ".join(r.tasks))
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r.id)
                if not r.installed:
                    item.setForeground(grey)
                self.table.setItem(i, j, item)
        for column in range(1, len(COLUMNS)):
            self.table.resizeColumnToContents(column)
        self.table.setUpdatesEnabled(True)
        disk = sum(r.size for r in self.rows if r.installed and r.how in ("hub", "pack", "cache"))
        self.total.setText(f"Models cache: {human_bytes(disk)} on disk")

    def row(self, repo_id: str) -> Row | None:
        return next((r for r in self.rows if r.id == repo_id), None)

    def _selection_changed(self) -> None:
        items = self.table.selectedItems()
        if items:
            self.repo_edit.setText(self.table.item(items[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    # ------------------------------------------------------------------ download / delete
    def start_download(self, repo_id: str) -> bool:
        row = self.row(repo_id)
        if row is not None and row.how in ("pip", "system"):
            entry = next(m for m in catalog_entries() if m.id == repo_id)
            hint = entry.options.get("pip") or entry.options.get("apt")
            self.progress_label.setText(f"{repo_id} is not a Hub download; install {hint!r} "
                                        f"({'pip' if row.how == 'pip' else 'apt-get'}).")
            return False
        if not repo_id or "/" not in repo_id:
            self.progress_label.setText("Name a Hub model as org/name.")
            return False
        if self._thread is not None and self._thread.is_alive():
            self.progress_label.setText(f"{self.downloading} is still downloading.")
            return False
        entry = next((m for m in catalog_entries() if m.id == repo_id), None)
        files = [f for f in (entry.files if entry else [])] or None
        revision = entry.revision if entry else "main"
        self.downloading, self.last_error = repo_id, ""
        self._cancel = cancel = threading.Event()
        self.progress.setValue(0)
        self.progress_label.setText(f"Starting {repo_id}…")
        self.download_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

        def work() -> None:
            from core.models import hub

            try:
                hub.get_model(repo_id, files, revision, progress=self.bus.emit, cancel=cancel,
                              settings=self.settings)
                self._relay.finished.emit(repo_id, "")
            except Exception as e:  # noqa: BLE001 - DownloadError/PackError messages are for the user
                self._relay.finished.emit(repo_id, str(e) or type(e).__name__)

        self._thread = threading.Thread(target=work, name="maestro-download", daemon=True)
        self._thread.start()
        return True

    def cancel_download(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.progress_label.setText(f"Cancelling {self.downloading}…")

    def _on_progress(self, e: DownloadProgress) -> None:
        if e.model != self.downloading:
            return
        if e.total_bytes:
            self.progress.setValue(int(1000 * e.done_bytes / e.total_bytes))
        if e.error:
            return
        state = "done" if e.finished else f"{human_bytes(e.speed_bps)}/s, ETA {_eta(e.eta_s)}"
        self.progress_label.setText(f"{e.model} — {e.filename}: {human_bytes(e.done_bytes)} of "
                                    f"{human_bytes(e.total_bytes)} ({state})")

    def _on_finished(self, repo_id: str, error: str) -> None:
        self.adapter.flush_tokens()
        self.download_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.last_error = error
        if error:
            self.progress_label.setText(f"{repo_id}: {error}")
        else:
            self.progress.setValue(1000)
            self.progress_label.setText(f"{repo_id} is installed.")
        self.downloading = ""
        self.reload()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def delete(self, repo_id: str) -> int:
        from core.models import hub

        freed = hub.remove_model(repo_id)
        self.progress_label.setText(f"Deleted {repo_id}: {human_bytes(freed)} freed.")
        self.reload()
        return freed

    def _ask_delete(self) -> None:
        repo_id = self.repo_edit.text().strip()
        row = self.row(repo_id)
        if row is None or not row.installed or row.how in ("pip", "system"):
            self.progress_label.setText("Pick an installed model from the cache to delete.")
            return
        if QMessageBox.question(self, "Delete model", f"Delete {repo_id} ({human_bytes(row.size)})?") == \
                QMessageBox.StandardButton.Yes:
            self.delete(repo_id)

    def _set_offline(self, on: bool) -> None:
        self.settings = dataclasses.replace(self.settings, offline=on)
        save_settings(self.settings)

    def done(self, result: int) -> None:  # noqa: A003 - Qt API
        self.cancel_download()
        self.adapter.detach()
        super().done(result)
