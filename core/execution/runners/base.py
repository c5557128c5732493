"""The runner contract: a runner executes one task with one selected model.

Runners are keyed by `runtime` (ModelEntry.runtime). Inputs arrive resolved: text args
as `str`, image/audio/video args as a `Path` inside the session folder."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import Cancelled, RunnerError
from core.models.entry import ModelEntry
from core.results import TaskOutput

if TYPE_CHECKING:
    from core.llm.controllers import Controller


@dataclass
class RunContext:
    task_id: int
    task: str
    model: ModelEntry
    artifacts_dir: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[float | None, str], None] = lambda fraction, message: None
    controller: Controller | None = None
    device: str = "cpu"
    settings: dict[str, Any] = field(default_factory=dict)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled")

    def artifact_path(self, suffix: str, stem: str | None = None) -> Path:
        """A fresh path for this task's artifact inside the session's artifacts folder."""
        from core.config.paths import inside

        name = f"{stem or f'task{self.task_id}-{self.task}'}{suffix}"
        path = inside(self.artifacts_dir, name)
        n = 1
        while path.exists():
            n += 1
            path = inside(self.artifacts_dir, f"{stem or f'task{self.task_id}-{self.task}'}-{n}{suffix}")
        return path


class Runner(Protocol):
    runtime: str

    def run(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput: ...


def write_atomic(path: Path, data: bytes) -> Path:
    """Write bytes via a temp file + rename so a crash never leaves half a file."""
    import errno
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)  # never leave half a file behind
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise RunnerError(f"the disk is full: could not write {path.name} ({len(data):,} bytes) in "
                              f"{path.parent}; free some space and run the task again") from None
        raise RunnerError(f"could not write {path.name}: {e.strerror or e}") from None
    return path
