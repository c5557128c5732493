"""One turn of a conversation: plan -> select -> execute -> respond, every step an event."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.paths import new_session_dir, safe_name
from core.config.settings import Settings, load_settings
from core.errors import Cancelled, PlanError, RequestRefused
from core.events import EventBus, PlanReady, ResponseToken, TaskSelected, TurnFinished
from core.execution.executor import Assignment, Executor
from core.llm.controllers import Controller, load_controller
from core.models.entry import ModelEntry
from core.plan import Plan, Task
from core.planning.planner import make_planner
from core.planning.request import PlanOutcome
from core.response.injection import GuardedResponder, withheld
from core.results import TaskResult
from core.tasks import TASKS

Selector = Callable[[Task, str], Assignment]
MAX_REQUEST_CHARS = 20_000  # as the CLI's limit: longer text belongs in an attached file


@dataclass
class TurnResult:
    turn_id: str
    request: str
    plan: Plan | None = None
    results: list[TaskResult] = field(default_factory=list)
    selections: dict[int, dict[str, Any]] = field(default_factory=dict)
    answer: str = ""
    status: str = "done"  # done | failed | cancelled
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    session_dir: Path | None = None
    files: list[str] = field(default_factory=list)  # the session copies of the user's files

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnResult:
        """The inverse of to_dict (a stored turn, e.g. to re-run one of its tasks)."""
        from core.plan import parse_plan

        plan = parse_plan(data["plan"]) if (data.get("plan") or {}).get("tasks") else None
        return cls(str(data.get("turn_id", "")), str(data.get("request", "")), plan=plan,
                   results=[TaskResult.from_dict(r) for r in data.get("results") or []],
                   selections={int(k): v for k, v in (data.get("selections") or {}).items()},
                   answer=data.get("answer") or "", status=data.get("status") or "done",
                   error=data.get("error"), warnings=list(data.get("warnings") or []),
                   timings=dict(data.get("timings") or {}),
                   session_dir=Path(data["session_dir"]) if data.get("session_dir") else None,
                   files=list(data.get("files") or []))

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn_id": self.turn_id,
            "request": self.request,
            "files": self.files,
            "plan": (self.plan or Plan()).to_dict(),
            "selections": {str(k): v for k, v in self.selections.items()},
            "results": [r.to_dict() for r in self.results],
            "answer": self.answer,
            "status": self.status,
            "error": self.error,
            "warnings": self.warnings,
            "timings": self.timings,
            "session_dir": str(self.session_dir) if self.session_dir else None,
        }


def _busy_seconds(results: Sequence[TaskResult]) -> float:
    """Wall time covered by at least one running task (union of intervals)."""
    spans = sorted((r.started_at, r.finished_at) for r in results
                   if r.started_at is not None and r.finished_at is not None)
    total, end = 0.0, float("-inf")
    for s, e in spans:
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def _order(plan: Plan) -> list[Task]:
    """Topological order, or plan order when a bad plan has a cycle (the executor reports it)."""
    try:
        return plan.topological()
    except PlanError:
        return list(plan.tasks)


def default_select(settings: Settings, controller_getter: Callable[[], Controller | None]) -> Selector:
    def select(task: Task, request: str) -> Assignment:
        from core.selection import selector

        try:
            s = selector.select(task, request, controller=controller_getter(), settings=settings)
        except selector.NoModelError as e:
            return Assignment(None, str(e))
        return Assignment(s.model, s.reason, list(s.candidates), s.needs_download)

    return select


class Engine:
    """Holds the controller (loaded once, lazily) and runs turns. Thread-safe per turn."""

    def __init__(self, settings: Settings | None = None, bus: EventBus | None = None, *,
                 controller: Controller | None = None, select: Selector | None = None,
                 runner_lookup: Callable[[str], Any] | None = None):
        self.settings = settings or load_settings()
        self.bus = bus or EventBus()
        self._controller = controller
        self._controller_lock = threading.Lock()
        self._planner: Any = None
        self._select = select or default_select(self.settings, lambda: self.controller)
        self._runner_lookup = runner_lookup

    @property
    def controller(self) -> Controller:
        with self._controller_lock:
            if self._controller is None:
                self._controller = load_controller(self.settings)
            return self._controller

    def warm_up(self) -> None:
        """Load the controller, build the planning prompt and load demo retrieval's encoder."""
        self.planner.warm()

    @property
    def planner(self) -> Any:  # core.planning.step_planner.StepPlanner
        if self._planner is None:
            self._planner = make_planner(self.controller, known_tasks=self.known_tasks())
        return self._planner

    def known_tasks(self) -> set[str]:
        """Task types the planner may use: every one Maestro knows. Whether a model is installed
        is the selector's question ("download this", or a clear offline failure), never a reason
        to plan another task instead."""
        return set(TASKS)

    # -- a turn ---------------------------------------------------------------------------
    def _attach(self, files: Sequence[str | Path], session_dir: Path, turn: TurnResult) -> None:
        """Copy the user's files into the session (originals are never touched)."""
        for f in files:
            src = Path(f).expanduser()
            if not src.is_file():
                turn.warnings.append(f"file not found: {f}")
                continue
            dest = session_dir / "inputs" / safe_name(src.name)
            n = 1
            while dest.exists():
                n += 1
                dest = dest.with_name(f"{Path(safe_name(src.name)).stem}-{n}{src.suffix}")
            try:
                shutil.copy2(src, dest)
            except OSError as e:
                turn.warnings.append(f"could not copy {f}: {e.strerror or e}")
                continue
            turn.files.append(str(dest))

    def run_turn(self, request: str, files: Sequence[str | Path] = (), history: Sequence[dict] = (),
                 cancel: threading.Event | None = None, turn_id: str | None = None) -> TurnResult:
        cancel = cancel or threading.Event()
        turn_id = turn_id or uuid.uuid4().hex[:12]
        t0 = time.monotonic()
        session_dir = new_session_dir(turn_id)
        turn = TurnResult(turn_id, request, session_dir=session_dir)
        too_long = len(request) > MAX_REQUEST_CHARS
        try:
            if too_long:  # longer text belongs in a file; fail fast and say what to do
                raise RequestRefused(f"the request is {len(request):,} characters; the limit is "
                               f"{MAX_REQUEST_CHARS:,}. Put long text in a file and attach it.")
            self._attach(files, session_dir, turn)
            outcome = self._plan(turn, request, history, cancel)
            if outcome.error is None:
                self._execute_and_respond(turn, outcome.plan, {}, history, cancel, t0)
            else:
                turn.status, turn.error = "failed", outcome.error
                turn.answer = f"I could not plan this request: {outcome.error}"
                self.bus.emit(ResponseToken(turn_id, turn.answer))
        except Cancelled:
            turn.status, turn.error = "cancelled", "cancelled by the user"
        except RequestRefused as e:
            turn.status, turn.error = "failed", str(e)
            turn.answer = f"I could not take this request: {e}"
            self.bus.emit(ResponseToken(turn_id, turn.answer))
        except Exception as e:  # noqa: BLE001 - the turn fails with a message, the app goes on
            turn.status, turn.error = "failed", f"{type(e).__name__}: {e}"
        if cancel.is_set() and turn.status == "done":
            turn.status, turn.error = "cancelled", "cancelled by the user"
        turn.timings["total_s"] = time.monotonic() - t0
        turn.timings["overhead_s"] = max(0.0, turn.timings["total_s"] - turn.timings.get("llm_s", 0.0)
                                         - turn.timings.get("runners_s", 0.0))
        self.bus.emit(TurnFinished(turn_id, turn.status, turn.answer, turn.error, dict(turn.timings)))
        return turn

    def _plan(self, turn: TurnResult, request: str, history: Sequence[dict],
              cancel: threading.Event) -> PlanOutcome:
        names = [Path(f).name for f in turn.files]
        outcome = self.planner.plan(request, names, list(history), cancel=cancel)
        turn.plan = outcome.plan
        turn.timings.update(plan_s=outcome.seconds, plan_llm_s=outcome.llm_s, llm_s=outcome.llm_s)
        self.bus.emit(PlanReady(turn.turn_id, outcome.plan.to_dict(), outcome.seconds, outcome.repaired))
        return outcome

    def _execute_and_respond(self, turn: TurnResult, plan: Plan, previous: dict[int, TaskResult],
                             history: Sequence[dict], cancel: threading.Event, t0: float,
                             assignments: dict[int, Assignment] | None = None) -> None:
        ts = time.monotonic()
        assignments = dict(assignments or {})
        for task in _order(plan):
            if task.id in assignments or (task.id in previous and previous[task.id].status == "done"):
                continue
            try:
                assignments[task.id] = self._select(task, turn.request)
            except Exception as e:  # noqa: BLE001 - e.g. an unknown task: that task fails, not the turn
                assignments[task.id] = Assignment(None, f"no model could be chosen: {e}")
        for task in _order(plan):
            a = assignments.get(task.id)
            if a is None:
                continue
            turn.selections[task.id] = {"model": a.model.id if a.model else None,
                                        "runtime": a.model.runtime if a.model else None,
                                        "reason": a.reason, "candidates": a.candidates}
            self.bus.emit(TaskSelected(turn.turn_id, task.id, task.task,
                                       a.model.id if a.model else "", a.model.runtime if a.model else "",
                                       a.reason, a.candidates, a.needs_download))
        turn.timings["select_s"] = time.monotonic() - ts

        te = time.monotonic()
        executor = Executor(bus=self.bus, turn_id=turn.turn_id, task_timeout_s=self.settings.task_timeout_s,
                            runner_lookup=self._runner_lookup, controller=self._controller_if_needed(assignments),
                            settings=self.settings.to_dict())
        results = executor.run(plan, assignments, turn.session_dir, cancel, previous)
        turn.results = [results[t.id] for t in plan.tasks]
        turn.timings["execute_s"] = time.monotonic() - te
        turn.timings["runners_s"] = _busy_seconds(turn.results)
        if cancel.is_set():
            raise Cancelled("cancelled")

        orders = [f"task {r.id} ({r.task}) read text that gives orders to an assistant; it was treated "
                  "as data and not followed" for r in turn.results if withheld(r) is not r]
        turn.warnings.extend(orders)
        tr = time.monotonic()
        responder = GuardedResponder(self.controller)
        answer, llm_s = responder.respond(
            turn.request, plan, results, list(history),
            on_token=lambda piece: self.bus.emit(ResponseToken(turn.turn_id, piece)), cancel=cancel)
        if orders:  # said plainly, whatever the controller wrote
            note = "\n" + "\n".join(f"Note: {o[0].upper()}{o[1:]}." for o in orders)
            self.bus.emit(ResponseToken(turn.turn_id, note))
            answer += note
        turn.answer = answer
        turn.timings["respond_s"] = time.monotonic() - tr
        turn.timings["respond_llm_s"] = llm_s
        turn.timings["llm_s"] = turn.timings.get("plan_llm_s", 0.0) + llm_s
        failed = [r for r in turn.results if r.status != "done"]
        if failed and len(failed) == len(turn.results):
            turn.status = "failed"
            turn.error = "; ".join(f"task {r.id}: {r.error}" for r in failed)

    def _controller_if_needed(self, assignments: dict[int, Assignment]) -> Controller | None:
        if any(a.model and (a.model.runtime == "llm" or (a.model.options or {}).get("uses_controller"))
               for a in assignments.values()):
            return self.controller
        return self._controller

    def rerun_task(self, previous: TurnResult, task_id: int, model: ModelEntry | str,
                   cancel: threading.Event | None = None) -> TurnResult:
        """Re-execute one task with another model, and every task depending on it; answer again."""
        cancel = cancel or threading.Event()
        if previous.plan is None:
            raise ValueError("that turn has no plan")
        if isinstance(model, str):
            from core.models import catalog

            entry = catalog.get(model)
            if entry is None:
                raise ValueError(f"unknown model {model}")
            model = entry
        plan = previous.plan
        stale = {task_id}
        for t in _order(plan):
            if stale & set(t.dep):
                stale.add(t.id)
        kept = {r.id: r for r in previous.results if r.id not in stale}
        t0 = time.monotonic()
        turn = TurnResult(previous.turn_id, previous.request, plan=plan,
                          session_dir=previous.session_dir, files=list(previous.files))
        self.bus.emit(PlanReady(turn.turn_id, plan.to_dict(), 0.0, False))
        try:
            self._execute_and_respond(turn, plan, kept, [], cancel, t0,
                                      {task_id: Assignment(model, "chosen by the user")})
        except Cancelled:
            turn.status, turn.error = "cancelled", "cancelled by the user"
        except Exception as e:  # noqa: BLE001 - the re-run fails with a message, the app goes on
            turn.status, turn.error = "failed", f"{type(e).__name__}: {e}"
        turn.timings["total_s"] = time.monotonic() - t0
        self.bus.emit(TurnFinished(turn.turn_id, turn.status, turn.answer, turn.error, dict(turn.timings)))
        return turn
