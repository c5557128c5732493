"""The DAG scheduler: concurrency, resolution, failure -> skipped, cancel, timeout.

The runners here are small scheduler probes (sleep, raise, hang) so that timing and
ordering can be observed exactly; real models are exercised in the runner tests."""

import threading
import time
from pathlib import Path

import pytest

from core.config.paths import new_session_dir
from core.errors import RunnerError
from core.events import EventBus
from core.execution.executor import Assignment, Executor
from core.models.entry import ModelEntry
from core.plan import parse_plan
from core.results import Artifact, TaskOutput


class ProbeRunner:
    runtime = "probe"

    def __init__(self, behaviour: dict[int, str]):
        self.behaviour = behaviour
        self.calls: list[tuple[int, dict]] = []
        self.saw_cancel = threading.Event()

    def run(self, ctx, inputs):
        self.calls.append((ctx.task_id, inputs))
        how = self.behaviour.get(ctx.task_id, "echo")
        if how == "sleep":
            time.sleep(0.5)
        elif how == "fail":
            raise RunnerError("model exploded")
        elif how == "crash":
            raise ZeroDivisionError("division by zero")
        elif how == "hang":
            # Bounded so a scheduler bug fails the test instead of hanging the suite.
            if not ctx.cancel.wait(timeout=20):
                raise AssertionError("the executor never told the hung task to stop")
            self.saw_cancel.set()
            ctx.check_cancel()
        elif how == "image":
            path = ctx.artifact_path(".png")
            path.write_bytes(b"png")
            return TaskOutput(text="an image", files=[Artifact(path, "image")])
        text = " ".join(str(v) for v in inputs.values())
        return TaskOutput(text=f"[{ctx.task_id}] {text}")


def run(plan_json, behaviour=None, **kw):
    plan = parse_plan(plan_json)
    runner = ProbeRunner(behaviour or {})
    model = ModelEntry(id="probe/model", task="any", runtime="probe")
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    session = new_session_dir()
    executor = Executor(bus=bus, runner_lookup=lambda rt: runner, **kw)
    results = executor.run(plan, {t.id: Assignment(model) for t in plan.tasks}, session,
                           cancel=kw.pop("cancel", None) if "cancel" in kw else None)
    return results, runner, events, session


TWO_INDEPENDENT = [
    {"id": 1, "task": "summarization", "dep": [], "args": {"text": "a"}},
    {"id": 2, "task": "summarization", "dep": [], "args": {"text": "b"}},
]


def test_independent_tasks_overlap_in_time():
    results, _, _, _ = run(TWO_INDEPENDENT, {1: "sleep", 2: "sleep"})
    a, b = results[1], results[2]
    assert a.status == b.status == "done"
    assert a.started_at < b.finished_at and b.started_at < a.finished_at


def test_resource_text_is_substituted():
    results, runner, _, _ = run([
        {"id": 1, "task": "summarization", "dep": [], "args": {"text": "hello"}},
        {"id": 2, "task": "translation", "dep": [1], "args": {"text": "<resource>-1", "tgt_lang": "es"}},
    ])
    assert dict(runner.calls)[2]["text"] == "[1] hello"
    assert results[2].output.text == "[2] [1] hello es"


def test_resource_file_is_passed_as_path():
    results, runner, _, session = run([
        {"id": 1, "task": "text-to-image", "dep": [], "args": {"text": "a cat"}},
        {"id": 2, "task": "image-to-text", "dep": [1], "args": {"image": "<resource>-1"}},
    ], {1: "image"})
    image = dict(runner.calls)[2]["image"]
    assert isinstance(image, Path) and image.parent == session / "artifacts"
    assert results[2].status == "done"


def test_attached_file_is_found_by_name_and_missing_one_fails_clearly():
    plan = [
        {"id": 1, "task": "image-to-text", "dep": [], "args": {"image": "there.png"}},
        {"id": 2, "task": "image-to-text", "dep": [], "args": {"image": "missing.png"}},
    ]
    session = new_session_dir("attach")
    (session / "inputs" / "there.png").write_bytes(b"x")
    runner = ProbeRunner({})
    model = ModelEntry(id="m", task="image-to-text", runtime="probe")
    results = Executor(runner_lookup=lambda rt: runner).run(
        parse_plan(plan), {1: Assignment(model), 2: Assignment(model)}, session)
    assert results[1].status == "done"
    assert results[2].status == "failed"
    assert "'missing.png' was not attached" in results[2].error and "there.png" in results[2].error


@pytest.mark.parametrize("how, fragment", [("fail", "model exploded"), ("crash", "ZeroDivisionError")])
def test_failure_skips_dependents_and_siblings_go_on(how, fragment):
    results, _, events, _ = run([
        {"id": 1, "task": "summarization", "dep": [], "args": {"text": "a"}},
        {"id": 2, "task": "translation", "dep": [1], "args": {"text": "<resource>-1"}},
        {"id": 3, "task": "summarization", "dep": [2], "args": {"text": "<resource>-2"}},
        {"id": 4, "task": "summarization", "dep": [], "args": {"text": "independent"}},
    ], {1: how})
    assert results[1].status == "failed" and fragment in results[1].error
    assert results[2].status == "skipped" and "task 1 (summarization) failed" in results[2].error
    assert results[3].status == "skipped" and "task 2" in results[3].error
    assert results[4].status == "done"
    finished = [e.task_id for e in events if e.kind == "task_finished"]
    assert sorted(finished) == [1, 2, 3, 4]


def test_no_model_fails_the_task_with_the_selector_reason():
    plan = parse_plan(TWO_INDEPENDENT)
    runner = ProbeRunner({})
    model = ModelEntry(id="m", task="summarization", runtime="probe")
    results = Executor(runner_lookup=lambda rt: runner).run(
        plan, {1: Assignment(None, "no installed model fits 2 GB"), 2: Assignment(model)}, new_session_dir())
    assert results[1].status == "failed" and results[1].error == "no installed model fits 2 GB"
    assert results[2].status == "done"


def test_timeout_fails_only_the_hung_task():
    results, runner, _, _ = run(TWO_INDEPENDENT, {1: "hang"}, task_timeout_s=0.5)
    assert results[1].status == "failed" and "timed out" in results[1].error
    assert results[2].status == "done"
    assert runner.saw_cancel.wait(timeout=5)


def test_cancel_stops_running_and_pending_tasks():
    cancel = threading.Event()
    plan = parse_plan([
        {"id": 1, "task": "summarization", "dep": [], "args": {"text": "a"}},
        {"id": 2, "task": "summarization", "dep": [1], "args": {"text": "<resource>-1"}},
    ])
    runner = ProbeRunner({1: "hang"})
    model = ModelEntry(id="m", task="summarization", runtime="probe")
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    results = Executor(runner_lookup=lambda rt: runner).run(
        plan, {1: Assignment(model), 2: Assignment(model)}, new_session_dir(), cancel)
    assert time.monotonic() - t0 < 5
    assert results[1].status == "cancelled"
    assert results[2].status in ("cancelled", "skipped")
    assert runner.saw_cancel.wait(timeout=5)


def test_events_arrive_in_order_per_task():
    _, _, events, _ = run(TWO_INDEPENDENT)
    for tid in (1, 2):
        kinds = [e.kind for e in events if getattr(e, "task_id", None) == tid]
        assert kinds == ["task_started", "task_finished"]
