"""The model pool: warm reuse, LRU eviction under a budget, one thread per instance."""

from __future__ import annotations

import threading
import time

import pytest

from core.models.pool import ModelPool


class Model:
    """A stand-in 'model' that records when it runs, to observe overlap between threads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.spans: list[tuple[float, float]] = []

    def run(self, seconds: float) -> None:
        start = time.perf_counter()
        time.sleep(seconds)
        self.spans.append((start, time.perf_counter()))


def test_second_use_does_not_reload():
    pool = ModelPool(budget_bytes=1000)
    loads = []

    def loader():
        loads.append(1)
        return Model("a")

    with pool.use("a", loader, 100) as first:
        assert first.loaded
    with pool.use("a", loader, 100) as second:
        assert not second.loaded and second.load_s == 0.0
        assert second.model is first.model
    assert len(loads) == 1 and pool.stats()["hits"] == 1


def test_lru_eviction_under_budget():
    pool = ModelPool(budget_bytes=250)
    evicted = []
    pool._on_evict = lambda m: evicted.append(m.name)
    for name in ("a", "b"):
        with pool.use(name, lambda n=name: Model(n), 100):
            pass
    with pool.use("a", lambda: Model("a"), 100):  # touch a: b is now least recently used
        pass
    with pool.use("c", lambda: Model("c"), 100):
        pass
    assert evicted == ["b"]
    assert sorted(pool.resident()) == ["a", "c"] and pool.used_bytes() == 200


def test_model_in_use_is_never_evicted():
    pool = ModelPool(budget_bytes=150)
    with pool.use("a", lambda: Model("a"), 100):
        with pool.use("b", lambda: Model("b"), 100):
            # over budget, but both are in use: nothing may be dropped under a running task
            assert sorted(pool.resident()) == ["a", "b"]
    with pool.use("c", lambda: Model("c"), 100):
        pass
    # b was released before a, so b is the least recently used and goes first
    assert pool.resident() == ["c"] and pool.stats()["evictions"] == ["b", "a"]


def test_one_instance_never_runs_on_two_threads():
    pool = ModelPool(budget_bytes=10_000)
    loads = []

    def loader():
        loads.append(1)
        time.sleep(0.1)  # a slow load: the second thread must wait for it, not load again
        return Model("a")

    def work():
        with pool.use("a", loader, 100) as lease:
            lease.model.run(0.15)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pool.use("a", loader, 100) as lease:
        spans = sorted(lease.model.spans)
    assert len(loads) == 1 and len(spans) == 3
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end  # strictly one after the other


def test_different_models_run_in_parallel():
    """Two different models are used at the same moment: both threads must meet inside `use`
    (a barrier that times out if the pool serialised them)."""
    pool = ModelPool(budget_bytes=10_000)
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def work(name):
        try:
            with pool.use(name, lambda: Model(name), 100):
                barrier.wait()
        except threading.BrokenBarrierError as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_failed_load_leaves_nothing_behind():
    pool = ModelPool(budget_bytes=1000)

    def broken():
        raise OSError("weights are corrupt")

    with pytest.raises(OSError), pool.use("x", broken, 100):
        pass
    assert pool.resident() == [] and pool.loads == 0
    with pool.use("x", lambda: Model("x"), 100) as lease:
        assert lease.loaded


def test_a_cold_load_is_reported_to_the_running_task():
    from core.models.pool import ModelPool, _model_name, reporting_loads

    pool = ModelPool(budget_bytes=10**9)
    said: list[str] = []
    with reporting_loads(lambda _f, message: said.append(message)):
        with pool.use("transformers:org/tiny-model:cpu", lambda: object(), 5_000_000):
            pass
        with pool.use("transformers:org/tiny-model:cpu", lambda: object(), 5_000_000):
            pass  # warm: nothing to say
    assert said[0] == "loading tiny-model… (5 MB)" and said[1].startswith("tiny-model loaded in ")
    assert len(said) == 2
    with pool.use("onnx:other:cpu", lambda: object(), 1):
        pass  # no task listening: loads quietly
    assert _model_name("efficientnet-lite:local:efficientnet-lite0:cpu") == "local:efficientnet-lite0"
