"""The window's handle on the engine process: warm-up, one turn at a time, Stop, Kill, restart.

The engine (planner, selector, executor, runners and every native library) runs in a child process
(core.engine.process); this object turns what it says into queued Qt signals and re-publishes its
events on `bus`, so the window folds them as before. When the child dies (SIGILL, SIGSEGV, an
out-of-memory kill, kill -9), the turn in flight fails with the signal in plain words, the window
keeps everything it already showed, and a fresh engine starts."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.config.settings import Settings
from core.engine.process import EngineProcess, Message
from core.events import EventBus
from core.llm.backend import signal_words

log = logging.getLogger("maestro.desktop")

# Two crashes in a row before the engine ever got ready: stop restarting and say so.
MAX_WARMUP_CRASHES = 2


class EngineHost(QObject):
    status_changed = Signal(str, str)  # state: loading | ready | error, and a sentence for the user
    info_changed = Signal(dict)  # {"controller", "device", "why", "backend", "pid"}
    turn_done = Signal(str, object)  # conversation id, TurnResult dict
    turn_failed = Signal(str, str, str)  # conversation id, turn id, message
    engine_crashed = Signal(str)  # the exit in plain words; a new engine is starting (or not)

    def __init__(self, settings: Settings, factory: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.factory = factory  # "module:function" building the engine in the child (tests swap it)
        self.bus = EventBus()
        self.state = "idle"
        self.error = ""
        self.info: dict[str, str] = {}
        self.generation = 0  # engine processes started so far
        self.restarts = 0  # of them, started because the previous one died
        self.last_restart_s: float | None = None  # crash -> ready, for the status bar and benchmarks
        self._proc: EngineProcess | None = None
        self._ready = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._turn: tuple[str, str] | None = None  # (conversation id, turn id) in flight
        self._expected_exit: set[int] = set()  # generations we stopped on purpose
        self._killed_by_user = False
        self._warmup_crashes = 0
        self._crashed_at: float | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start an engine process and warm it up (returns at once)."""
        with self._lock:
            if self.state in ("loading", "ready"):
                return
            self._spawn_locked()
        self.status_changed.emit("loading", "Loading the controller model…")

    def _spawn_locked(self) -> None:
        self.generation += 1
        generation = self.generation
        self.state, self.error = "loading", ""
        self._ready.clear()
        self._proc = EngineProcess(self.settings, lambda m: self._on_message(generation, m), self.factory)
        self._proc.start()

    def restart(self, settings: Settings) -> None:
        """Stop this engine (and its models) and warm up a new one with these settings."""
        if self.busy:
            raise RuntimeError("a turn is running")
        self.settings = settings
        self._retire()
        self.state = "idle"
        self.start()

    def _retire(self) -> None:
        proc = self._proc
        if proc is not None:
            self._expected_exit.add(self.generation)
            self._proc = None
            threading.Thread(target=proc.stop, name="maestro-engine-stop", daemon=True).start()

    def close(self, timeout: float = 5.0) -> None:
        """On quit: cancel, then stop the engine process."""
        self.cancel()
        self.join(timeout)
        proc, self._proc = self._proc, None
        if proc is not None:
            self._expected_exit.add(self.generation)
            proc.stop(timeout)
        self.state = "idle"

    def kill(self) -> None:
        """Kill a stuck engine from the window; the turn fails, a new engine starts."""
        if self._proc is not None and self._proc.alive:
            self._killed_by_user = True
            self._proc.kill()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # ------------------------------------------------------------------ turns
    @property
    def busy(self) -> bool:
        return self._turn is not None

    def submit(self, conversation_id: str, request: str, files: Sequence[Path] = (),
               history: Sequence[dict] = ()) -> str:
        """Start a turn; returns its id at once (events and `turn_done` carry it)."""
        turn_id = uuid.uuid4().hex[:12]
        self._send(conversation_id, turn_id, ("turn", turn_id, request, [str(f) for f in files], list(history)))
        return turn_id

    def rerun(self, conversation_id: str, previous: Any, task_id: int, model_id: str) -> None:
        data = previous.to_dict() if hasattr(previous, "to_dict") else dict(previous)
        turn_id = str(data.get("turn_id") or "")
        self._send(conversation_id, turn_id, ("rerun", turn_id, data, task_id, model_id))

    def _send(self, conversation_id: str, turn_id: str, message: Message) -> None:
        with self._lock:
            if self._turn is not None:
                raise RuntimeError("a turn is already running")
            if self._proc is None:
                self._spawn_locked()
            self._turn = (conversation_id, turn_id)
            self._idle.clear()
            proc = self._proc
        if not proc.send(*message):
            self._end_turn()
            self.turn_failed.emit(conversation_id, turn_id, "The engine is not running; it is being restarted.")

    def cancel(self) -> None:
        if self._turn is not None and self._proc is not None:
            self._proc.send("cancel")

    def join(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def _end_turn(self) -> tuple[str, str] | None:
        with self._lock:
            turn, self._turn = self._turn, None
        self._idle.set()
        return turn

    # ------------------------------------------------------------------ what the engine says
    def _on_message(self, generation: int, message: Message) -> None:
        kind = message[0]
        if kind == "exited":
            self._on_exit(generation, message[1])
            return
        if generation != self.generation:
            return  # a retired engine's last words
        if kind == "event":
            self.bus.emit(message[1])
        elif kind == "ready":
            self.state, self.info, self._warmup_crashes = "ready", dict(message[1]), 0
            if self._crashed_at is not None:
                self.last_restart_s, self._crashed_at = time.monotonic() - self._crashed_at, None
            self._ready.set()
            self.status_changed.emit("ready", "Ready")
            self.info_changed.emit(self.info)
        elif kind == "warmup_failed":
            self.state, self.error = "error", str(message[1])
            self._ready.set()
            self.status_changed.emit("error", f"The engine could not start: {self.error}")
        elif kind == "done":
            turn = self._end_turn()
            self.turn_done.emit(turn[0] if turn else "", message[2])
        elif kind == "failed":
            turn = self._end_turn()
            self.turn_failed.emit(turn[0] if turn else "", message[1], message[2])

    def _on_exit(self, generation: int, code: int | None) -> None:
        if generation in self._expected_exit:
            self._expected_exit.discard(generation)
            return
        if generation != self.generation:
            return
        words = ("stopped from the window" if self._killed_by_user and code and code < 0
                 else f"stopped: {signal_words(code)}")
        self._killed_by_user = False
        log.error("engine process %s (%s)", words, code)
        was_loading = self.state == "loading"
        self._crashed_at = time.monotonic()
        turn = self._end_turn()
        with self._lock:
            self._proc = None
            self._warmup_crashes = self._warmup_crashes + 1 if was_loading else 0
            give_up = self._warmup_crashes >= MAX_WARMUP_CRASHES
            if give_up:
                self.state, self.error = "error", f"the engine {words} while loading, twice"
                self._ready.set()
            else:
                self.restarts += 1
                self._spawn_locked()
        if turn is not None:
            self.turn_failed.emit(turn[0], turn[1], f"The engine {words}. Finished results are kept"
                                  + ("." if give_up else "; a new engine is starting."))
        self.engine_crashed.emit(words)
        if give_up:
            self.status_changed.emit("error", f"The engine could not start: {self.error}. See Help → Logs.")
        else:
            self.status_changed.emit("loading", f"The engine {words}; restarting…")
