"""The engine in its own process: every native library (llama.cpp, ONNX Runtime, torch) lives there,
so a native crash (SIGILL, SIGSEGV, an out-of-memory kill) ends one turn, not the window.

The parent side (EngineProcess) imports nothing heavy; the child (`serve`) builds the Engine and
runs one command at a time. Both ends speak in tuples over a multiprocessing pipe:

  parent -> child  ("turn", turn_id, request, files, history) | ("rerun", turn_id, previous_dict,
                   task_id, model_id) | ("cancel",) | ("stop",)
  child -> parent  ("ready", info) | ("warmup_failed", message) | ("event", Event)
                   | ("done", turn_id, result_dict) | ("failed", turn_id, message)
  reader thread    ("exited", exit_code) once the child is gone, however it went

Events are the core dataclasses themselves (pickled), so the window folds them exactly as it did
in-process. The factory is "module:function" (resolved in the child) so tests can swap the engine."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from core.config.settings import Settings

log = logging.getLogger("maestro.engine")

Message = tuple
DEFAULT_FACTORY = "core.engine.process:default_engine"


def default_engine(bus: Any, settings: Settings) -> Any:
    from core.engine.pipeline import Engine

    return Engine(settings=settings, bus=bus)


def sentence(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) < 400 else text[:397] + "…"


def describe(engine: Any, settings: Settings) -> dict[str, str]:
    """Controller, device and llama.cpp CPU backend in use, and why, for the status bar."""
    info: dict[str, str] = {}
    controller = getattr(engine, "_controller", None) if engine is not None else None
    if controller is not None:
        name = getattr(controller, "name", type(controller).__name__)
        where = getattr(controller, "device", "")
        load_s = getattr(controller, "load_s", None)
        info["controller"] = f"{name} on {where}" if where else name
        if isinstance(load_s, (int, float)):
            info["controller"] += f" (loaded in {load_s:.1f} s)"
        backend = getattr(controller, "backend", None)
        if backend is not None:
            info["backend"] = backend.describe()
    else:
        info["controller"] = (f"{settings.endpoint_model or 'model'} @ {settings.endpoint_url}"
                              if settings.endpoint_url else f"{settings.controller} (not loaded)")
    try:
        from core.config.hardware import choose_device

        choice = choose_device(settings.device)
        info["device"], info["why"] = choice.device, choice.why
    except Exception as e:  # noqa: BLE001 - status-bar detail only
        info["device"], info["why"] = "cpu", f"device detection failed: {e}"
    info["pid"] = str(os.getpid())
    return info


def _resolve(factory: str) -> Callable[[Any, Settings], Any]:
    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)


# ------------------------------------------------------------------------------ the child
def serve(conn: Any, settings: Settings, factory: str = DEFAULT_FACTORY) -> None:
    """The engine process's main function: warm up, then run commands until told to stop."""
    import faulthandler

    from core.config.logs import logs_dir, setup_logging
    from core.events import EventBus

    setup_logging()
    # A native crash leaves the Python stack of every thread here (the window says which signal).
    crash_log = open(logs_dir() / "engine-crash.log", "a", encoding="utf-8")  # noqa: SIM115 - for the process's life
    faulthandler.enable(crash_log, all_threads=True)
    send_lock = threading.Lock()

    def send(message: Message) -> None:
        with send_lock:
            conn.send(message)

    bus = EventBus()
    bus.subscribe(lambda event: send(("event", event)))
    commands: queue.Queue = queue.Queue()
    latest: list[threading.Event] = [threading.Event()]

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the window is gone: an engine alone has nothing to do
            if message[0] == "cancel":
                latest[0].set()
            elif message[0] == "stop":
                commands.put(None)
                return
            else:
                latest[0] = threading.Event()
                commands.put((message, latest[0]))

    threading.Thread(target=read, name="maestro-engine-reader", daemon=True).start()
    engine, error = None, ""
    try:
        engine = _resolve(factory)(bus, settings)
        engine.warm_up()
        send(("ready", describe(engine, settings)))
    except Exception as e:  # noqa: BLE001 - reported to the window, which stays usable
        log.exception("engine warm-up failed")
        engine, error = None, sentence(e)
        send(("warmup_failed", error))
    while (item := commands.get()) is not None:
        message, cancel = item
        turn_id = message[1]
        if engine is None:
            send(("failed", turn_id, f"The engine is not available: {error}"))
            continue
        try:
            if message[0] == "turn":
                _, turn_id, request, files, history = message
                result = engine.run_turn(request, files=files, history=history, cancel=cancel, turn_id=turn_id)
            else:
                from core.engine.pipeline import TurnResult

                _, turn_id, previous, task_id, model_id = message
                result = engine.rerun_task(TurnResult.from_dict(previous), task_id, model_id, cancel=cancel)
            send(("done", turn_id, result.to_dict() if hasattr(result, "to_dict") else dict(result)))
        except Exception as e:  # noqa: BLE001 - a failed turn is a message, never a dead engine
            log.exception("turn failed")
            send(("failed", turn_id, sentence(e)))
    conn.close()


# ------------------------------------------------------------------------------ the parent
_live: set[EngineProcess] = set()


def _end_engines() -> None:
    """Before multiprocessing joins its non-daemonic children at exit: end ours (else it waits on
    an engine that only exits once this process's pipe end closes). Registered after multiprocessing
    registers its own exit handler, so it runs first (atexit is last-in, first-out)."""
    for proc in list(_live):
        proc.kill()


class EngineProcess:
    """One engine child process and the thread that reads what it says."""

    def __init__(self, settings: Settings, on_message: Callable[[Message], None],
                 factory: str | None = None) -> None:
        import multiprocessing as mp

        self._ctx = mp.get_context("spawn")  # never fork a process that has Qt or threads running
        self.settings = settings
        self.on_message = on_message
        self.factory = factory or DEFAULT_FACTORY
        self._conn: Any = None
        self._proc: Any = None
        self._send_lock = threading.Lock()
        self.started_at = 0.0

    def start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        # Not daemonic: the engine starts children of its own (the llama.cpp start-up check). It
        # still ends with the window: its reader exits the process when the pipe closes.
        self._proc = self._ctx.Process(target=serve, args=(child, self.settings, self.factory),
                                       name="maestro-engine", daemon=False)
        self.started_at = time.monotonic()
        self._proc.start()
        if not _live:
            atexit.unregister(_end_engines)
            atexit.register(_end_engines)
        _live.add(self)
        child.close()
        self._conn = parent
        threading.Thread(target=self._read, name="maestro-engine-pipe", daemon=True).start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def send(self, *message: Any) -> bool:
        """False when the child is already gone (its exit is reported by the reader)."""
        try:
            with self._send_lock:
                self._conn.send(message)
            return True
        except (OSError, ValueError, AttributeError):
            return False

    def _read(self) -> None:
        conn, proc = self._conn, self._proc
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # noqa: BLE001 - an unreadable message: drop it, keep reading
                log.exception("unreadable message from the engine")
                continue
            self.on_message(message)
        proc.join(5)
        if proc.is_alive():  # closed its end but did not exit: make the end certain
            proc.kill()
            proc.join(5)
        _live.discard(self)
        deadline = time.monotonic() + 5
        while proc.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)  # another thread's join reaped it and is about to record the code
        self.on_message(("exited", proc.exitcode))

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the child to finish; kill it if it does not within `timeout`."""
        if self._proc is None:
            return
        self.send("stop")
        self._proc.join(timeout)
        if self._proc.is_alive():
            self.kill()

    def kill(self) -> None:
        """SIGKILL; the reader thread reaps the process and reports ("exited", -9)."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
