"""Stage 3 scheduler: run a validated plan's DAG.

Tasks whose dependencies are done run concurrently on a thread pool (torch, ONNX Runtime,
CTranslate2 and llama.cpp release the GIL). `<resource>-N` args are resolved to the
producer's typed output. A failed task marks its dependents `skipped` with the reason while
independent tasks go on. Cancel stops everything; a per-task timeout fails only that task.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import Cancelled, InputError, RunnerError
from core.events import EventBus, TaskFinished, TaskProgress, TaskStarted
from core.execution.runners.base import RunContext, Runner
from core.models.entry import ModelEntry
from core.plan import RESOURCE_RE, Plan, Task, plan_problems
from core.results import TaskOutput, TaskResult
from core.tasks import TASKS

RunnerLookup = Callable[[str], Runner]  # runtime -> its runner (tests pass doubles with the same run())


@dataclass
class Assignment:
    """The model chosen for a task, or why there is none."""

    model: ModelEntry | None
    reason: str = ""
    candidates: list[str] = field(default_factory=list)
    needs_download: bool = False  # allowed but not cached: fetched before the task runs


def task_problems(plan: Plan) -> dict[int, str]:
    """Why each task of a plan cannot run: the first of its plan problems (core.plan.plan_problems).

    The planner validates plans, but plans also arrive from re-runs, stored history and tests;
    a bad task fails with its reason and only its dependents are skipped."""
    out: dict[int, str] = {}
    for p in plan_problems(plan):
        if p.task_id is not None:
            out.setdefault(p.task_id, p.message)
    return out


def _default_lookup(runtime: str) -> Runner:
    from core.execution.runners import get_runner

    return get_runner(runtime)


class Executor:
    def __init__(self, *, bus: EventBus | None = None, turn_id: str = "", max_workers: int = 4,
                 task_timeout_s: float = 600.0, runner_lookup: RunnerLookup | None = None,
                 controller: Any = None, device: str = "cpu", settings: dict[str, Any] | None = None):
        self.bus = bus or EventBus()
        self.turn_id = turn_id
        self.max_workers = max_workers
        self.task_timeout_s = task_timeout_s
        self.runner_lookup = runner_lookup or _default_lookup
        self.controller = controller
        self.device = device
        self.settings = settings or {}
        self._lock = threading.Lock()
        self.cancel_grace_s = 5.0

    # -- resolution -------------------------------------------------------------------------
    def resolve_args(self, task: Task, results: dict[int, TaskResult],
                     inputs_dir: Path) -> dict[str, Any]:
        spec = TASKS[task.task]
        resolved: dict[str, Any] = {}
        for name, value in task.args.items():
            arg = spec.arg(name)
            modality = arg.modality if arg else "text"
            value = value if isinstance(value, str) else (
                ", ".join(map(str, value)) if isinstance(value, list) else str(value))
            refs = RESOURCE_RE.findall(value)
            if modality == "text":
                resolved[name] = RESOURCE_RE.sub(
                    lambda m: self._output(results, int(m.group(1))).text, value)
            elif refs:
                out = self._output(results, int(refs[0]))
                art = out.file_of(modality)
                if art is None:
                    raise InputError(f"arg '{name}' needs {modality} but task {refs[0]} produced none")
                resolved[name] = Path(art.path)
            else:
                resolved[name] = self._input_file(value, modality, inputs_dir)
        return resolved

    @staticmethod
    def _output(results: dict[int, TaskResult], ref: int) -> TaskOutput:
        r = results.get(ref)
        if r is None or r.output is None:
            raise InputError(f"task {ref} has no output")
        return r.output

    @staticmethod
    def _input_file(value: str, modality: str, inputs_dir: Path) -> Path:
        """A file the user attached (matched by name inside the session's inputs folder)."""
        name = Path(value.strip().strip("'\"")).name
        candidate = inputs_dir / name
        if name and candidate.is_file():
            if inputs_dir.resolve() not in candidate.resolve().parents:  # a symlink planted in the session
                raise InputError(f"{modality} file '{name}' points outside this request's folder; refused")
            return candidate
        attached = sorted(p.name for p in inputs_dir.iterdir()) if inputs_dir.is_dir() else []
        hint = f" (attached: {', '.join(attached)})" if attached else " (no files attached)"
        raise InputError(f"{modality} file '{value}' was not attached to this request{hint}")

    # -- scheduling -------------------------------------------------------------------------
    def run(self, plan: Plan, assignments: dict[int, Assignment], session_dir: Path,
            cancel: threading.Event | None = None,
            results: dict[int, TaskResult] | None = None) -> dict[int, TaskResult]:
        """Run every task not already `done` in `results` (re-runs keep earlier outputs)."""
        cancel = cancel or threading.Event()
        by_id = plan.by_id()
        results = dict(results or {})
        for t in plan.tasks:
            if t.id not in results or results[t.id].status != "done":
                a = assignments.get(t.id)
                results[t.id] = TaskResult(
                    id=t.id, task=t.task, model=a.model.id if a and a.model else None,
                    runtime=a.model.runtime if a and a.model else None)
        for tid, why in task_problems(plan).items():
            if results[tid].status == "pending":
                self._finish(results[tid], "failed", error=f"the plan is invalid: {why}")
        pending = {tid for tid, r in results.items() if r.status == "pending"}
        running: dict[Future, tuple[int, float, threading.Event]] = {}
        cancelled_at = 0.0
        pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="maestro-task")
        try:
            while pending or running:
                if cancel.is_set():
                    cancelled_at = cancelled_at or time.monotonic()
                    for tid in sorted(pending):
                        self._finish(results[tid], "cancelled", error="cancelled before it started")
                    pending.clear()
                    for _fut, (_tid, _t0, task_cancel) in running.items():
                        task_cancel.set()
                for tid in sorted(pending):
                    task = by_id[tid]
                    dep_status = {d: results[d].status for d in task.dep}
                    bad = [d for d, s in dep_status.items() if s in ("failed", "skipped", "cancelled")]
                    if bad:
                        d = bad[0]
                        why = results[d].error or results[d].status
                        self._finish(results[tid], "skipped",
                                     error=f"skipped because task {d} ({results[d].task}) "
                                           f"{results[d].status}: {why}")
                        pending.discard(tid)
                    elif all(s == "done" for s in dep_status.values()) and len(running) < self.max_workers:
                        pending.discard(tid)
                        task_cancel = threading.Event()
                        fut = pool.submit(self._run_one, task, assignments.get(tid), results,
                                          session_dir, task_cancel)
                        running[fut] = (tid, time.monotonic(), task_cancel)
                if not running:
                    for tid in sorted(pending):  # unreachable for validated plans; never spin
                        self._finish(results[tid], "failed", error="dependencies never finished")
                    pending.clear()
                    continue
                done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
                now = time.monotonic()
                for fut in list(running):
                    tid, t0, task_cancel = running[fut]
                    if fut in done:
                        del running[fut]
                    elif cancelled_at and now - cancelled_at > self.cancel_grace_s:
                        # A runner that ignores its cancel flag is abandoned, not waited for.
                        task_cancel.set()
                        del running[fut]
                        self._finish(results[tid], "cancelled", error="cancelled")
                    elif now - t0 > self.task_timeout_s:
                        # The thread cannot be killed; it is told to stop and its result is dropped.
                        task_cancel.set()
                        del running[fut]
                        self._finish(results[tid], "failed",
                                     error=f"timed out after {self.task_timeout_s:g} s")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return results

    def _run_one(self, task: Task, assignment: Assignment | None, results: dict[int, TaskResult],
                 session_dir: Path, task_cancel: threading.Event) -> None:
        result = results[task.id]
        result.started_at = time.monotonic()
        result.status = "running"
        model = assignment.model if assignment else None
        self.bus.emit(TaskStarted(self.turn_id, task.id, task.task, model.id if model else ""))
        try:
            if model is None:
                raise RunnerError(assignment.reason if assignment else f"no model for {task.task}")
            inputs = self.resolve_args(task, results, session_dir / "inputs")
            result.inputs = {k: str(v) for k, v in inputs.items()}
            if assignment is not None and assignment.needs_download:
                self._download(model, task, task_cancel)
            runner = self.runner_lookup(model.runtime)

            def progress(fraction: float | None, message: str) -> None:
                self.bus.emit(TaskProgress(self.turn_id, task.id, fraction, message))

            ctx = RunContext(task_id=task.id, task=task.task, model=model,
                             artifacts_dir=session_dir / "artifacts", cancel=task_cancel,
                             progress=progress, controller=self.controller, device=self.device,
                             settings=self.settings)
            ctx.check_cancel()
            from core.models.pool import reporting_loads

            with reporting_loads(progress):  # "loading <model>…" on the node while a cold model loads
                output = runner.run(ctx, inputs)
            if task_cancel.is_set():
                raise Cancelled("cancelled")
            if not isinstance(output, TaskOutput):
                raise RunnerError(f"runner {model.runtime} returned {type(output).__name__}")
            result.output = output
            result.load_s = float(output.data.get("load_s") or 0.0)
            self._finish(result, "done")
        except Cancelled:
            if result.status == "running":
                self._finish(result, "cancelled", error="cancelled")
        except RunnerError as e:
            self._finish(result, "failed", error=str(e))
        except MemoryError:
            self._finish(result, "failed", error="out of memory")
        except Exception as e:  # noqa: BLE001 - a runner bug fails its task, not the turn
            self._finish(result, "failed", error=f"{type(e).__name__}: {e}")

    def _download(self, model: ModelEntry, task: Task, task_cancel: threading.Event) -> None:
        from core.config.settings import Settings
        from core.models import hub

        self.bus.emit(TaskProgress(self.turn_id, task.id, None, f"downloading {model.id}"))
        try:
            hub.ensure_entry(model, progress=self.bus.emit, cancel=task_cancel,
                              settings=Settings.from_dict(self.settings))
        except Exception as e:  # noqa: BLE001 - DownloadError/PackError carry the user-facing reason
            if task_cancel.is_set():
                raise Cancelled("cancelled") from e
            raise RunnerError(f"could not download {model.id}: {e}") from e

    def _finish(self, result: TaskResult, status: str, error: str | None = None) -> None:
        with self._lock:
            if result.status in ("done", "failed", "skipped", "cancelled"):
                return  # first verdict wins (a timed-out task may still return later)
            now = time.monotonic()
            result.started_at = result.started_at or now
            result.finished_at = now
            result.status = status
            result.error = error
        self.bus.emit(TaskFinished(self.turn_id, result.id, status, result.to_dict()))
