"""The runtime rows (core/models/runtimes.py) and the Runner base class: every row resolves to its
runner, the runners' own routing tables agree with their rows, and the base class's guard, pool key
and load timing — with a probe runner, so nothing heavy loads."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.errors import RunnerError
from core.execution import runners
from core.execution.runners.base import RunContext, Runner
from core.models import catalog, known_models, runtimes
from core.models import pool as pool_module
from core.models.entry import ModelEntry
from core.models.pool import ModelPool, reporting_loads
from core.results import TaskOutput
from core.tasks import TASKS
from tests.runner_support import make_ctx


@pytest.mark.parametrize("row", runtimes.ROWS, ids=lambda r: r.name)
def test_every_row_resolves_to_the_runner_of_its_runtime(row):
    runner = runners.get_runner(row.name)
    assert isinstance(runner, Runner) and runner.runtime == row.name and runner.row is row
    assert row.tasks and len(set(row.tasks)) == len(row.tasks)
    assert set(row.tasks) <= set(TASKS), f"{row.name} names tasks Maestro does not know"


def test_every_runnable_model_names_a_row_that_does_its_task():
    for m in known_models.RUNNABLE:
        row = runtimes.row(m.runtime)
        assert row is not None and row.does(m.task), (m.id, m.task, m.runtime)


def test_the_runners_routing_tables_match_their_rows():
    from core.execution.runners import hf_tasks, llm_expert, transformers_runner

    tf = set(runtimes.RUNTIMES["transformers"].tasks)
    assert tf == set(hf_tasks.HANDLERS) | set(transformers_runner.EMBEDDING_TASKS)
    assert tf == (set(transformers_runner.PIPELINE_TASKS) | set(transformers_runner.MODEL_TASKS)
                  | set(transformers_runner.EMBEDDING_TASKS))
    assert set(transformers_runner.EMBEDDING_TASKS) <= set(runtimes.RUNTIMES["sentence-embedding"].tasks)
    assert list(llm_expert.TASK_TOKENS) == list(runtimes.RUNTIMES["llm"].tasks)


def test_the_catalog_lists_the_controller_for_the_llm_rows_tasks_in_order():
    listed = [m.task for m in catalog.all_models() if m.runtime == "llm"]
    assert listed == list(runtimes.RUNTIMES["llm"].tasks)


def test_no_row_for_a_runtime_is_a_key_error_and_a_wrong_loader_a_type_error(monkeypatch):
    with pytest.raises(KeyError, match="no runner for runtime 'nope'"):
        runners.get_runner("nope")
    # a row whose loader names another runtime's class is refused, not run under the wrong name
    monkeypatch.setitem(runtimes.RUNTIMES, "mislabelled",
                        runtimes.Runtime("mislabelled", "core.execution.runners.vader:VaderRunner", ("text-classification",)))
    runners.get_runner.cache_clear()
    try:
        with pytest.raises(TypeError, match="not a Runner of the 'mislabelled' runtime"):
            runners.get_runner("mislabelled")
    finally:
        runners.get_runner.cache_clear()


def test_the_guard_refuses_a_task_outside_the_row_with_the_selectors_sentence(tmp_path):
    vader = known_models.default_for("text-classification")
    ctx = make_ctx(vader, tmp_path / "s", task="image-classification")
    with pytest.raises(RunnerError) as e:
        runners.get_runner("vader").run(ctx, {})  # refused before any input is looked at
    assert str(e.value) == "the 'vader' runner does not do image-classification"
    assert runtimes.unavailable("vader", task="image-classification") == str(e.value)  # the selector says the same


# -- the base class with a probe runner ------------------------------------------------------------
class Probe(Runner):
    runtime = "probe"
    loads = 0

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        folder = Path(inputs["folder"])

        def load() -> str:
            type(self).loads += 1
            time.sleep(0.05)
            return f"model in {folder.name}"

        with self.model(ctx, load, 1_000, folder=folder, device=self.device(ctx)) as lease:
            text = lease.model
        return TaskOutput(text=text)


@pytest.fixture
def probe(monkeypatch):
    monkeypatch.setitem(runtimes.RUNTIMES, "probe", runtimes.Runtime("probe", "tests.test_runner_base:Probe",
                                                                     ("text-generation", "summarization")))
    pool = ModelPool(budget_bytes=10**9)
    monkeypatch.setattr(pool_module, "_default", pool)
    Probe.loads = 0
    return Probe(), pool


def test_the_pool_key_names_runtime_model_folder_device_and_dtype(probe, tmp_path):
    runner, pool = probe
    entry = ModelEntry("org/probe-model", "text-generation", "probe")
    ctx = make_ctx(entry, tmp_path / "s")  # settings say cpu: float32
    runner.run(ctx, {"folder": str(tmp_path / "snap-a")})
    assert pool.resident() == [f"probe:org/probe-model:{tmp_path / 'snap-a'}:cpu:float32"]
    # another revision (snapshot folder) is another model; the same one is reused
    runner.run(make_ctx(entry, tmp_path / "s"), {"folder": str(tmp_path / "snap-b")})
    runner.run(make_ctx(entry, tmp_path / "s"), {"folder": str(tmp_path / "snap-a")})
    assert Probe.loads == 2 and len(pool.resident()) == 2
    other = replace(entry, id="org/other")
    runner.run(make_ctx(other, tmp_path / "s"), {"folder": str(tmp_path / "snap-a")})
    assert Probe.loads == 3


def test_load_timing_is_reported_for_each_run_cold_then_warm(probe, tmp_path):
    runner, _ = probe
    entry = ModelEntry("org/probe-model", "summarization", "probe")
    ctx = make_ctx(entry, tmp_path / "s")
    cold = runner.run(ctx, {"folder": str(tmp_path / "snap")})
    assert cold.data["model_loaded"] is True and cold.data["load_s"] >= 0.05
    warm = runner.run(ctx, {"folder": str(tmp_path / "snap")})  # the same context again: its own record
    assert warm.data["model_loaded"] is False and warm.data["load_s"] == 0.0
    said: list[str] = []
    with reporting_loads(lambda _f, message: said.append(message)):
        runner.run(make_ctx(entry, tmp_path / "s"), {"folder": str(tmp_path / "other-snap")})
    assert said[0] == "loading probe-model… (0 MB)" and said[1].startswith("probe-model loaded in ")


def test_the_probe_is_guarded_like_every_runner(probe, tmp_path):
    runner, pool = probe
    ctx = make_ctx(ModelEntry("org/probe-model", "text-to-image", "probe"), tmp_path / "s")
    with pytest.raises(RunnerError, match="the 'probe' runner does not do text-to-image"):
        runner.run(ctx, {"folder": str(tmp_path)})
    assert pool.resident() == [] and Probe.loads == 0


def test_a_helper_context_shares_the_task_but_keeps_its_own_load_record(tmp_path):
    entry = ModelEntry("org/probe-model", "summarization", "probe")
    ctx = make_ctx(entry, tmp_path / "s")
    ocr = known_models.default_for("optical-character-recognition")
    sub = ctx.helper("optical-character-recognition", ocr)
    assert (sub.task_id, sub.task, sub.model) == (ctx.task_id, "optical-character-recognition", ocr)
    assert sub.cancel is ctx.cancel and sub.artifacts_dir == ctx.artifacts_dir and sub.settings is ctx.settings
    assert sub.loads is not ctx.loads
