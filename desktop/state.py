"""What the window knows about one turn, folded from core events (no Qt here, so it is easy to test).

The graph panel and the details panel both draw from a TurnState; a stored turn (a
TurnResult dict from the history) rebuilds the same state, so old turns look like live ones."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from core import events as ev

# Node states shown in the graph, in the order a task normally goes through them.
NODE_STATES = ("selecting", "pending", "running", "done", "failed", "skipped", "cancelled")
FINAL_STATES = {"done", "failed", "skipped", "cancelled"}
RESPONSE_ID = -1  # the pseudo-node for the responder stage (the answer being written)


@dataclass
class TaskState:
    id: int
    task: str
    dep: list[int] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)
    status: str = "selecting"
    model: str = ""
    runtime: str = ""
    reason: str = ""
    candidates: list[str] = field(default_factory=list)
    fraction: float | None = None
    message: str = ""
    result: dict[str, Any] | None = None
    started: float | None = None  # time.monotonic() in this process, for a live clock
    duration_s: float | None = None
    download: dict[str, Any] | None = None  # the missing model it needs (core.response.evidence.NeededModel dict)
    downloading: bool = False  # that model is being fetched from this window

    @property
    def needs_download(self) -> bool:
        """Failed for want of a model that can be downloaded (drawn as "needs a download")."""
        return bool(self.download) and self.status == "failed" and not self.downloading


@dataclass
class TurnState:
    turn_id: str
    request: str = ""
    status: str = "planning"  # planning | running | done | failed | cancelled | interrupted
    tasks: dict[int, TaskState] = field(default_factory=dict)
    answer: str = ""
    response: str = "waiting"  # waiting | running | done | failed | cancelled
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    plan_seconds: float | None = None
    repaired: bool = False

    def generations(self) -> list[list[int]]:
        """Task ids grouped in columns by topological generation (a cycle falls back to one column)."""
        from core.errors import PlanError
        from core.plan import Plan, Task

        plan = Plan([Task(t.id, t.task, [d for d in t.dep if d in self.tasks], t.args)
                     for t in self.tasks.values()])
        try:
            return [[t.id for t in group] for group in plan.generations()]
        except PlanError:
            return [sorted(self.tasks)]

    def leaves(self) -> list[int]:
        used = {d for t in self.tasks.values() for d in t.dep}
        return [i for i in sorted(self.tasks) if i not in used]

    # ------------------------------------------------------------------ events
    def apply(self, event: ev.Event) -> set[int]:
        """Fold one event in; return the ids of nodes whose drawing changed (RESPONSE_ID included)."""
        if isinstance(event, ev.PlanReady):
            self._set_plan(event.plan)
            self.plan_seconds = event.seconds
            self.repaired = event.repaired
            self.status = "running"
            return set(self.tasks) | {RESPONSE_ID}
        if isinstance(event, ev.TaskSelected):
            t = self._task(event.task_id, event.task)
            t.model, t.runtime, t.reason = event.model, event.runtime, event.reason
            t.candidates = list(event.candidates)
            if t.status == "selecting":
                t.status = "pending"
            if not event.model or event.needs_download:
                _note_download(t, event.model, event.reason)
            return {t.id}
        if isinstance(event, ev.TaskStarted):
            t = self._task(event.task_id, event.task)
            t.status, t.started, t.fraction, t.message = "running", time.monotonic(), None, ""
            if event.model:
                t.model = event.model
            return {t.id}
        if isinstance(event, ev.TaskProgress):
            t = self._task(event.task_id)
            if t.status not in FINAL_STATES:
                t.status = "running"
            t.fraction, t.message = event.fraction, event.message
            return {t.id}
        if isinstance(event, ev.TaskFinished):
            t = self._task(event.task_id)
            self._set_result(t, event.result, event.status)
            return {t.id}
        if isinstance(event, ev.ResponseToken):
            self.answer += event.text
            changed = self.response != "running"
            self.response = "running"
            return {RESPONSE_ID} if changed else set()
        if isinstance(event, ev.TurnFinished):
            return self.finish(event.status, event.answer, event.error, event.timings)
        return set()

    def finish(self, status: str, answer: str = "", error: str | None = None,
               timings: dict[str, float] | None = None) -> set[int]:
        """End the turn with `status` (done | failed | cancelled | interrupted): a task that never
        finished is cancelled (on Stop) or skipped; `answer` replaces the streamed one when given.
        Returns the ids of the nodes whose drawing changed."""
        self.status = status
        self.answer = answer or self.answer
        self.error = error
        self.timings = dict(timings or {})
        changed = {RESPONSE_ID}
        for t in self.tasks.values():
            if t.status not in FINAL_STATES:
                # A task that never finished did not run to the end: cancelled on Stop, else skipped.
                t.status = "cancelled" if status in ("cancelled", "interrupted") else "skipped"
                changed.add(t.id)
        self.response = {"done": "done", "cancelled": "cancelled", "interrupted": "cancelled"}.get(status, "failed")
        if status == "done" and not self.answer:
            self.response = "done"
        return changed

    def _task(self, task_id: int, task: str = "") -> TaskState:
        if task_id not in self.tasks:  # an event for a task the plan did not list: still show it
            self.tasks[task_id] = TaskState(task_id, task or "task")
        return self.tasks[task_id]

    def _set_plan(self, plan: dict[str, Any]) -> None:
        self.tasks = {}
        for raw in (plan or {}).get("tasks", []):
            try:
                tid = int(raw.get("id"))
            except (TypeError, ValueError):
                continue
            deps = [int(d) for d in raw.get("dep") or [] if str(d).lstrip("-").isdigit() and int(d) >= 0]
            self.tasks[tid] = TaskState(tid, str(raw.get("task", "")), deps, dict(raw.get("args") or {}))

    @staticmethod
    def _set_result(t: TaskState, result: dict[str, Any], status: str) -> None:
        t.result = dict(result or {})
        t.status = status or t.result.get("status") or "done"
        t.fraction = None
        t.model = t.result.get("model") or t.model
        t.runtime = t.result.get("runtime") or t.runtime
        dur = t.result.get("duration_s")
        if dur is None and t.started is not None:
            dur = time.monotonic() - t.started
        t.duration_s = dur
        t.downloading = False
        if t.status == "failed":
            _note_download(t, t.result.get("model"), t.result.get("error"))
        elif t.status == "done":
            t.download = None

    def partial(self) -> dict[str, Any]:
        """What is known so far, shaped like a TurnResult dict (for the store, while running)."""
        return {
            "turn_id": self.turn_id, "request": self.request, "status": "running",
            "plan": {"tasks": [{"id": t.id, "task": t.task, "dep": t.dep, "args": t.args}
                               for t in self.tasks.values()]},
            "selections": {str(t.id): {"model": t.model, "runtime": t.runtime, "reason": t.reason,
                                       "candidates": t.candidates} for t in self.tasks.values() if t.model},
            "results": [t.result for t in self.tasks.values() if t.result is not None],
            "answer": self.answer,
        }

    # ------------------------------------------------------------------ history
    @classmethod
    def from_result(cls, result: dict[str, Any], status: str | None = None) -> TurnState:
        """Rebuild the state of a finished (or interrupted) turn from its TurnResult dict."""
        state = cls(str(result.get("turn_id", "")), str(result.get("request", "")))
        state._set_plan(result.get("plan") or {})
        selections = result.get("selections") or {}
        for t in state.tasks.values():
            sel = selections.get(t.id) or selections.get(str(t.id)) or {}
            t.model = sel.get("model") or ""
            t.runtime = sel.get("runtime") or ""
            t.reason = sel.get("reason") or ""
            t.candidates = list(sel.get("candidates") or [])
        for r in result.get("results") or []:
            try:
                t = state._task(int(r.get("id")), str(r.get("task", "")))
            except (TypeError, ValueError):
                continue
            state._set_result(t, r, str(r.get("status") or "done"))
        state.finish(status or str(result.get("status") or "done"), str(result.get("answer") or ""),
                      result.get("error"), result.get("timings") or {})
        return state


def _note_download(t: TaskState, model: str | None, error: str | None) -> None:
    """Remember which model a task lacks, when a download would let it run (catalog facts only)."""
    from core.response.evidence import missing_for

    need = missing_for(t.task, "failed", model or None, error)
    t.download = need.to_dict() if need is not None else None
