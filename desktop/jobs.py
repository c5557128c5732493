"""Long work off the GUI thread (a model download), its outcome and progress back on it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("maestro.desktop")


class Job(QObject):
    """Runs `fn(progress, cancel)` on a thread. `progress` may be called from that thread with any
    object (a DownloadProgress); it arrives on the GUI thread as `progressed`, like the outcome."""

    progressed = Signal(object)
    finished = Signal(object, str)  # the value, or None and the error in words

    def __init__(self, fn: Callable[[Callable[[Any], None], threading.Event], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> Job:
        def work() -> None:
            try:
                value, error = self.fn(self._progress, self.cancel), ""
            except Exception as e:  # noqa: BLE001 - DownloadError/PackError carry the user-facing reason
                log.info("background job failed: %s", e)
                value, error = None, str(e) or type(e).__name__
            try:
                self.finished.emit(value, error)
            except RuntimeError:  # the window that asked was closed meanwhile
                log.info("background job finished after its window closed")

        self.thread = threading.Thread(target=work, name="maestro-job", daemon=True)
        self.thread.start()
        return self

    def _progress(self, item: Any) -> None:
        try:
            self.progressed.emit(item)
        except RuntimeError:  # the window that asked was closed meanwhile
            self.cancel.set()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
