"""Log files in <data>/logs (rotated) and a crash handler for the command line.

An unexpected exception in a CLI command writes its traceback to the log and prints one line
naming the log file, instead of a traceback on the user's terminal."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "maestro.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def logs_dir() -> Path:
    from core.config.paths import data_dir

    folder = data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup_logging(level: int = logging.INFO, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Attach one rotating file handler to the root logger (idempotent); return the log path."""
    path = logs_dir() / LOG_NAME
    root = logging.getLogger()
    for h in root.handlers:
        if isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path:
            return path
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return path


def install_crash_handler(stream=None) -> Path:
    """Route uncaught exceptions to the log; the user sees one line with the log's path."""
    path = setup_logging()

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            print("\ninterrupted", file=stream or sys.stderr)
            return
        logging.getLogger("maestro").critical("unexpected error", exc_info=(exc_type, exc, tb))
        for h in logging.getLogger().handlers:
            h.flush()
        print(f"Maestro hit an unexpected error ({exc_type.__name__}: {str(exc)[:200]}). "
              f"Nothing you saved is lost; details are in {path}", file=stream or sys.stderr)

    sys.excepthook = hook
    return path
