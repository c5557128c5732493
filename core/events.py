"""Event types and a tiny synchronous bus: the only way progress leaves core/.

Subscribers are called on the thread that emits (executor worker threads included);
the desktop adapter re-posts them to the GUI thread with queued signals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    turn_id: str = ""

    @property
    def kind(self) -> str:
        return _KINDS[type(self)]


@dataclass
class PlanReady(Event):
    plan: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    repaired: bool = False


@dataclass
class TaskSelected(Event):
    task_id: int = 0
    task: str = ""
    model: str = ""
    runtime: str = ""
    reason: str = ""
    candidates: list[str] = field(default_factory=list)
    needs_download: bool = False  # the chosen model is allowed but not cached: it downloads before the task runs


@dataclass
class TaskStarted(Event):
    task_id: int = 0
    task: str = ""
    model: str = ""


@dataclass
class TaskProgress(Event):
    task_id: int = 0
    fraction: float | None = None
    message: str = ""


@dataclass
class TaskFinished(Event):
    task_id: int = 0
    status: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResponseToken(Event):
    text: str = ""


@dataclass
class TurnFinished(Event):
    status: str = "done"  # done | failed | cancelled
    answer: str = ""
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class DownloadProgress(Event):
    model: str = ""
    filename: str = ""
    done_bytes: int = 0
    total_bytes: int = 0
    speed_bps: float = 0.0
    eta_s: float | None = None
    finished: bool = False
    error: str | None = None


_KINDS: dict[type, str] = {
    PlanReady: "plan_ready",
    TaskSelected: "task_selected",
    TaskStarted: "task_started",
    TaskProgress: "task_progress",
    TaskFinished: "task_finished",
    ResponseToken: "response_token",
    TurnFinished: "turn_finished",
    DownloadProgress: "download_progress",
    Event: "event",
}

Listener = Callable[[Event], None]


class EventBus:
    """Fan events out to listeners; a failing listener never breaks the run."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a UI bug must not kill a run
                import logging

                logging.getLogger("maestro.events").exception("event listener failed")
