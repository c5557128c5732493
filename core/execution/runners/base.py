"""The runner contract: a runner executes one task with one selected model.

Every runner is a `Runner` subclass named by its `runtime` (ModelEntry.runtime, a row of
core.models.runtimes). The base class owns what every expert needs the same way:
- the task guard: `run()` refuses a task the runtime's row does not list (one message, the one the
  selector gives), then calls the subclass's `run_task()`;
- the device: `device(ctx)` (torch), `providers(ctx)` (ONNX Runtime), from the task's preference;
- the model's files: `folder(ctx)` (the HF cache, or the Python package the model ships in);
- the model pool: `model(ctx, load, ...)` leases the loaded model under one key (runtime, model id,
  variant, folder, device, dtype) and records the lease;
- load timing: after `run_task()`, the output's data gets `model_loaded` and `load_s` (what the
  executor reports as the task's load time) from the leases the task took.

Inputs arrive resolved: text args as `str`, image/audio/video args as a `Path` inside the session
folder."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from core.config import hardware
from core.errors import Cancelled, RunnerError
from core.models import runtimes
from core.models.entry import ModelEntry
from core.models.locate import folder_bytes, model_dir, package_dir
from core.models.pool import Lease, default_pool
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
    loads: list[Lease] = field(default_factory=list)  # the pool leases taken for this task (load timing)

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

    def helper(self, task: str, model: ModelEntry) -> RunContext:
        """This task's context for a helper expert doing `task` with `model` (the OCR that reads a
        page before the answer, the extractor that turns a photo into an edge map): the same task id,
        artifacts folder, cancel flag, progress, device and settings; its own load record."""
        return RunContext(self.task_id, task, model, self.artifacts_dir, self.cancel, self.progress,
                          device=self.device, settings=self.settings)


class Runner(ABC):
    """One expert family. A subclass sets `runtime` and writes `run_task`."""

    runtime: ClassVar[str]

    @property
    def row(self) -> runtimes.Runtime:
        row = runtimes.row(self.runtime)
        if row is None:
            raise RunnerError(f"Maestro has no runner for the '{self.runtime}' runtime")
        return row

    def run(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        row = self.row
        if not row.does(ctx.task):
            raise RunnerError(row.refusal(ctx.task))
        first = len(ctx.loads)
        out = self.run_task(ctx, inputs)
        mine = ctx.loads[first:]
        if mine:
            out.data.setdefault("model_loaded", any(lease.loaded for lease in mine))
            out.data.setdefault("load_s", round(sum(lease.load_s for lease in mine), 3))
        return out

    @abstractmethod
    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        """Do `ctx.task` (one of the row's tasks) with `ctx.model` on `inputs`."""

    # -- device ------------------------------------------------------------------------------------
    @staticmethod
    def preference(ctx: RunContext) -> str:
        return hardware.run_preference(ctx.device, ctx.settings)

    def device(self, ctx: RunContext) -> hardware.DeviceChoice:
        """The torch device and dtype for this task (a runner of another library overrides it)."""
        return hardware.choose_device(self.preference(ctx))

    def providers(self, ctx: RunContext) -> list[str]:
        """ONNX Runtime's execution providers for this task, best first."""
        return hardware.ort_providers(self.preference(ctx))

    # -- files and the model pool -----------------------------------------------------------------
    @staticmethod
    def folder(ctx: RunContext) -> Path:
        """The model's files: the Python package it ships in, else its snapshot in the models cache
        (a RunnerError saying how to install it when it is not there)."""
        if (ctx.model.options or {}).get("python_package"):
            return package_dir(ctx.model)
        return model_dir(ctx.model)

    def pool_key(self, ctx: RunContext, folder: Path | None = None,
                 device: hardware.DeviceChoice | str | None = None, variant: tuple[str, ...] = ()) -> str:
        """runtime:model id[:variant...][:folder][:device:dtype] — the folder is the snapshot, so a new
        revision loads anew; the variant tells apart what one model loads per task (a pipeline)."""
        parts = [self.runtime, ctx.model.id, *variant]
        if folder is not None:
            parts.append(str(folder))
        if isinstance(device, hardware.DeviceChoice):
            parts += [device.device, device.dtype]
        elif device:
            parts.append(device)
        return ":".join(parts)

    def model(self, ctx: RunContext, load: Callable[[], Any], size_bytes: int | None = None, *,
              folder: Path | None = None, device: hardware.DeviceChoice | str | None = None,
              variant: tuple[str, ...] = ()) -> AbstractContextManager[Lease]:
        """The pooled model for this task, loaded with `load()` when cold; `size_bytes` is the memory
        it takes (default: the catalog's size, else the folder's bytes on disk)."""
        if size_bytes is None:
            size_bytes = ctx.model.size_bytes or (folder_bytes(folder) if folder is not None else 0)
        key = self.pool_key(ctx, folder, device, variant)
        name = ctx.model.id.rsplit("/", 1)[-1]
        return self.timed(ctx, default_pool().use(key, load, size_bytes, name=name))

    @staticmethod
    @contextmanager
    def timed(ctx: RunContext, leasing: AbstractContextManager[Lease]) -> Iterator[Lease]:
        """Enter a pool lease and record it for the task's load timing."""
        with leasing as lease:
            ctx.loads.append(lease)
            yield lease


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
