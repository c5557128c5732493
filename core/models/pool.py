"""A pool of loaded expert models: warm reuse, LRU eviction under a memory budget, one user at a time.

Loading a model costs seconds; running it again costs milliseconds. The pool keeps models loaded
between tasks and turns, evicts the least recently used ones when the budget would be exceeded,
and hands each instance to one thread at a time (torch modules and ORT sessions are not safe to
run from two threads at once with shared state such as KV caches or pipeline buffers)."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("maestro.pool")


@dataclass
class _Slot:
    key: str
    value: Any
    size_bytes: int
    load_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)  # one running user at a time
    pins: int = 0  # users holding or waiting for the instance; a pinned slot is never evicted
    uses: int = 0


@dataclass
class Lease:
    """What `ModelPool.use` yields: the model plus whether this call paid for loading it."""

    key: str
    model: Any
    loaded: bool  # True when this call loaded the model, False when it was warm
    load_s: float  # seconds spent loading in this call (0 when warm)
    wait_s: float  # seconds spent waiting for another thread to finish with the instance


class ModelPool:
    def __init__(self, budget_bytes: int, on_evict: Callable[[Any], None] | None = None) -> None:
        self.budget_bytes = int(budget_bytes)
        self._slots: OrderedDict[str, _Slot] = OrderedDict()  # oldest use first
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._on_evict = on_evict
        self.loads = 0
        self.hits = 0
        self.evictions: list[str] = []

    # -- public -------------------------------------------------------------------------------
    @contextmanager
    def use(self, key: str, loader: Callable[[], Any], size_bytes: int, name: str | None = None) -> Iterator[Lease]:
        """Yield the model for `key`, loading it with `loader()` if it is not warm.

        The instance lock is held for the whole `with` block, so two threads that ask for the
        same model run one after the other; different models run in parallel. `name` is what the
        "loading …" message calls the model (default: guessed from the key)."""
        slot, loaded, load_s = self._acquire_slot(key, loader, size_bytes, name or _model_name(key))
        t0 = time.perf_counter()
        try:
            with slot.lock:
                wait_s = time.perf_counter() - t0
                slot.uses += 1
                yield Lease(key, slot.value, loaded, load_s, wait_s)
        finally:
            with self._lock:
                slot.pins -= 1
                if key in self._slots:
                    self._slots.move_to_end(key)

    def resident(self) -> list[str]:
        with self._lock:
            return list(self._slots)

    def used_bytes(self) -> int:
        with self._lock:
            return sum(s.size_bytes for s in self._slots.values())

    def evict(self, key: str) -> bool:
        """Drop one model if nobody is using it (e.g. after the user deleted its files)."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None or slot.pins:
                return False
            self._drop(key)
        self._collect()
        return True

    def clear(self) -> None:
        with self._lock:
            for key in [k for k, s in self._slots.items() if not s.pins]:
                self._drop(key)
        self._collect()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"budget_bytes": self.budget_bytes,
                    "used_bytes": sum(s.size_bytes for s in self._slots.values()),
                    "resident": list(self._slots), "loads": self.loads, "hits": self.hits,
                    "evictions": list(self.evictions)}

    # -- internals ----------------------------------------------------------------------------
    def _hit(self, key: str) -> _Slot | None:
        """The warm slot for `key`, pinned and marked recently used (caller holds self._lock)."""
        slot = self._slots.get(key)
        if slot is not None:
            slot.pins += 1
            self._slots.move_to_end(key)
            self.hits += 1
        return slot

    def _acquire_slot(self, key: str, loader: Callable[[], Any], size_bytes: int,
                      name: str) -> tuple[_Slot, bool, float]:
        with self._lock:
            slot = self._hit(key)
            if slot is not None:
                return slot, False, 0.0
            load_lock = self._loading.setdefault(key, threading.Lock())
        # One loader per key: a second thread asking for the same cold model waits for the first.
        with load_lock:
            with self._lock:
                slot = self._hit(key)  # loaded by the thread we waited for
                if slot is not None:
                    return slot, False, 0.0
                self._make_room(size_bytes)
            self._collect()
            t0 = time.perf_counter()
            _announce(f"loading {name}… ({size_bytes / 1e6:,.0f} MB)")
            value = loader()  # may raise; nothing is inserted then
            load_s = time.perf_counter() - t0
            _announce(f"{name} loaded in {load_s:.1f} s")
            with self._lock:
                slot = _Slot(key, value, int(size_bytes), load_s, pins=1)
                self._slots[key] = slot
                self.loads += 1
                self._loading.pop(key, None)
            log.info("loaded %s in %.2fs (%d MB)", key, load_s, size_bytes // 2**20)
            return slot, True, load_s

    def _make_room(self, size_bytes: int) -> None:
        """Evict least-recently-used unpinned models until `size_bytes` more fits (lock held).

        A model bigger than the whole budget is refused with a message: loading it anyway would
        swap or be killed by the OS, taking the app (and the turn) with it."""
        if self.budget_bytes > 0 and size_bytes > self.budget_bytes:
            from core.errors import RunnerError

            raise RunnerError(f"not enough memory: this model needs about {size_bytes / 2**30:.2f} GB but the "
                              f"memory budget is {self.budget_bytes / 2**30:.2f} GB; raise the budget in "
                              "Settings or pick a smaller model")
        used = sum(s.size_bytes for s in self._slots.values())
        for key in list(self._slots):
            if used + size_bytes <= self.budget_bytes:
                break
            slot = self._slots[key]
            if slot.pins:
                continue
            used -= slot.size_bytes
            self._drop(key)

    def _drop(self, key: str) -> None:
        slot = self._slots.pop(key)
        self.evictions.append(key)
        log.info("evicted %s (%d MB)", key, slot.size_bytes // 2**20)
        if self._on_evict is not None:
            try:
                self._on_evict(slot.value)
            except Exception:  # noqa: BLE001 - freeing memory must never fail a task
                log.exception("on_evict failed for %s", key)
        slot.value = None

    @staticmethod
    def _collect() -> None:
        gc.collect()
        import sys

        torch = sys.modules.get("torch")  # only if some runner already imported it
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


_default: ModelPool | None = None
_default_lock = threading.Lock()


def default_pool() -> ModelPool:
    """The process-wide pool, sized from the settings' memory budget (or 70 % of RAM / 80 % of VRAM)."""
    global _default
    with _default_lock:
        if _default is None:
            from core.config import hardware
            from core.config.settings import load_settings

            settings = load_settings()
            device = hardware.choose_device(settings.device).device if settings.device != "cpu" else "cpu"
            budget, why = hardware.memory_budget(settings.memory_budget_gb, device)
            log.info("model pool budget %.1f GB (%s)", budget / 2**30, why)
            _default = ModelPool(budget)
        return _default


# -- telling the task's node that a model is loading (seconds, worth a word) ------------------------
_reporter = threading.local()


@contextmanager
def reporting_loads(progress: Callable[[float | None, str], None]) -> Iterator[None]:
    """While a runner runs on this thread, model loads of the pool are reported through `progress`."""
    previous = getattr(_reporter, "progress", None)
    _reporter.progress = progress
    try:
        yield
    finally:
        _reporter.progress = previous


def _announce(message: str) -> None:
    progress = getattr(_reporter, "progress", None)
    if progress is not None:
        try:
            progress(None, message)
        except Exception:  # noqa: BLE001 - a progress listener must not fail a load
            log.debug("load progress listener failed", exc_info=True)


def _model_name(key: str) -> str:
    """'transformers:org/model:cpu' -> 'model' (runtime first, device last in the pool's keys)."""
    parts = key.split(":")
    if len(parts) > 1:
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] in ("cpu", "cuda", "mps"):
        parts = parts[:-1]
    return ":".join(parts).split("/")[-1] or key
