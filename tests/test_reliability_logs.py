"""Log files rotate in <data>/logs, and an unexpected CLI error prints one line naming the log
(the traceback goes to the file, not the terminal)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from core.config.logs import setup_logging
from core.config.paths import data_dir

ROOT = Path(__file__).resolve().parent.parent


def _detach(path: Path) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path:
            root.removeHandler(h)
            h.close()


def test_logs_rotate_in_the_data_folder():
    path = setup_logging(max_bytes=2_000, backups=2)
    try:
        assert path == data_dir() / "logs" / "maestro.log"
        assert setup_logging() == path  # idempotent: one handler, not two
        handlers = [h for h in logging.getLogger().handlers
                    if isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path]
        assert len(handlers) == 1
        log = logging.getLogger("maestro.test")
        for i in range(200):
            log.warning("line %d %s", i, "x" * 60)
        files = sorted(p.name for p in path.parent.iterdir())
        assert files == ["maestro.log", "maestro.log.1", "maestro.log.2"]  # older ones dropped
        assert all(p.stat().st_size <= 2_200 for p in path.parent.iterdir())
        assert "line 199" in path.read_text()
    finally:
        _detach(path)


CRASH = """
import sys
sys.path.insert(0, {root!r})
import core.engine.pipeline
def broken(self):
    raise ZeroDivisionError("a bug nobody caught")
core.engine.pipeline.Engine.warm_up = broken
import main
sys.exit(main.main(["ask", "hello there"]))
"""


def test_unexpected_cli_error_prints_one_line_and_logs_the_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAESTRO_DATA": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-c", CRASH.format(root=str(ROOT))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    log_path = tmp_path / "data" / "logs" / "maestro.log"
    assert "ZeroDivisionError: a bug nobody caught" in lines[0] and str(log_path.resolve()) in lines[0]
    text = log_path.read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text and "in _engine" in text
