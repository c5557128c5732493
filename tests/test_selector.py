"""Model selection: each filter, ranking, pinning, the controller's constrained choice, and its reasons."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from core.config.settings import Settings
from core.models import catalog, runtimes
from core.models.entry import ModelEntry
from core.plan import Task
from core.selection import selector


class RecordingController:
    """Stands in for the controller LLM in unit tests: answers with a fixed choice, records the call.
    (The real controller is exercised in test_real_controller_chooses_a_candidate.)"""

    name = "recording"

    def __init__(self, choice: str | None = None, reason: str = "fits the request") -> None:
        self.choice, self.reason, self.calls = choice, reason, []

    def complete_json(self, messages, schema, max_tokens=512):
        self.calls.append((messages, schema))
        ids = schema["properties"]["id"]["enum"]
        return {"id": self.choice or ids[-1], "reason": self.reason}


def _entries(monkeypatch, entries: list[ModelEntry]) -> None:
    monkeypatch.setattr(catalog, "all_models", lambda: list(entries))


def _always_installed(monkeypatch, ids: set[str] | None = None) -> None:
    monkeypatch.setattr(catalog, "is_installed", lambda m: ids is None or m.id in ids)


def _t(task: str, **args) -> Task:
    return Task(1, task, [], args)


def test_single_installed_candidate_needs_no_llm_call():
    ctrl = RecordingController()
    t0 = time.perf_counter()
    sel = selector.select(_t("automatic-speech-recognition", audio="a.wav"), "transcribe this",
                          controller=ctrl, settings=Settings())
    elapsed = time.perf_counter() - t0
    assert sel.model.id == "Systran/faster-whisper-tiny.en"
    assert ctrl.calls == [] and not sel.by_llm
    assert sel.reason and sel.candidates == ["Systran/faster-whisper-tiny.en"]
    assert elapsed < 5  # generous bound: no LLM call was made (the call list above is the real check)


def test_controller_chooses_among_top_k_with_constrained_output(monkeypatch):
    entries = [ModelEntry(f"org/m{i}", "image-classification", "transformers", downloads=100 - i) for i in range(5)]
    _entries(monkeypatch, entries)
    _always_installed(monkeypatch)
    ctrl = RecordingController(choice="org/m2", reason="best for cats")
    sel = selector.select(_t("image-classification", image="cat.png"), "what animal is this?", controller=ctrl,
                          settings=Settings())
    assert sel.model.id == "org/m2" and sel.by_llm
    assert sel.candidates == ["org/m0", "org/m1", "org/m2"]  # top 3 by downloads
    assert "best for cats" in sel.reason
    (messages, schema), = ctrl.calls
    assert schema["properties"]["id"]["enum"] == sel.candidates and schema["required"] == ["id", "reason"]
    assert "what animal is this?" in messages[0]["content"]


def test_without_controller_the_ranking_decides(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/low", "image-classification", "transformers", downloads=1),
                           ModelEntry("org/high", "image-classification", "transformers", downloads=9)])
    _always_installed(monkeypatch)
    sel = selector.select(_t("image-classification"), "x", settings=Settings())
    assert sel.model.id == "org/high" and "most downloaded" in sel.reason


def test_a_bad_controller_answer_falls_back_and_says_so(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/a", "image-classification", "transformers", downloads=2),
                           ModelEntry("org/b", "image-classification", "transformers", downloads=1)])
    _always_installed(monkeypatch)

    class Broken(RecordingController):
        def complete_json(self, messages, schema, max_tokens=512):
            return {"id": "org/not-offered", "reason": "?"}

    sel = selector.select(_t("image-classification"), "x", controller=Broken(), settings=Settings())
    assert sel.model.id == "org/a" and "choice failed" in sel.reason


def test_installed_models_beat_downloads_and_default_beats_popularity(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/popular", "object-detection", "transformers", downloads=10**6),
                           ModelEntry("org/here", "object-detection", "transformers", downloads=10),
                           ModelEntry("org/default", "object-detection", "transformers", downloads=1, default=True)])
    _always_installed(monkeypatch, {"org/here", "org/default"})
    sel = selector.select(_t("object-detection"), "x", settings=Settings())
    assert sel.model.id == "org/default" and "default" in sel.reason and not sel.needs_download
    assert "org/popular" not in sel.candidates  # a download is never offered while a model is installed


def test_not_installed_model_online_needs_download(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/remote", "depth-estimation", "transformers", downloads=5)])
    _always_installed(monkeypatch, set())
    sel = selector.select(_t("depth-estimation"), "x", settings=Settings(offline=False))
    assert sel.model.id == "org/remote" and sel.needs_download and "downloaded" in sel.reason


def test_offline_offers_only_cached_models(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/remote", "depth-estimation", "transformers", downloads=5,
                                      size_bytes=400_000_000)])
    _always_installed(monkeypatch, set())
    with pytest.raises(selector.NoModelError, match="offline") as e:
        selector.select(_t("depth-estimation"), "x", settings=Settings(offline=True))
    # the task the planner chose stays: the failure names the model it needs and how to get it
    assert str(e.value).startswith("needs org/remote, 400 MB, not installed (offline)")
    assert "python main.py models get org/remote" in str(e.value)


def test_online_reason_names_size_and_command(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/remote", "depth-estimation", "transformers", downloads=5,
                                      size_bytes=1_200_000_000)])
    _always_installed(monkeypatch, set())
    sel = selector.select(_t("depth-estimation"), "x", settings=Settings(offline=False))
    assert "1,200 MB" in sel.reason and "`python main.py models get org/remote`" in sel.reason


def test_runtime_not_installed_is_filtered(monkeypatch):
    from core.models import runtimes

    # Pretend diffusers is absent, whatever this venv has.
    row = runtimes.RUNTIMES["diffusers"]
    monkeypatch.setitem(runtimes.RUNTIMES, "diffusers", replace(row, needs=(*row.needs, "no_such_module_xyz")))
    runtimes.clear_cache()
    _entries(monkeypatch, [ModelEntry("org/sd", "text-to-image", "diffusers", downloads=10**6),
                           ModelEntry("org/odd", "text-to-image", "no-such-runtime")])
    _always_installed(monkeypatch)
    try:
        with pytest.raises(selector.NoModelError) as e:
            selector.select(_t("text-to-image", text="a cat"), "draw a cat", settings=Settings())
    finally:
        runtimes.clear_cache()
    assert "needs the Python package(s) no_such_module_xyz" in e.value.reason
    assert "no runner for the 'no-such-runtime' runtime" in e.value.reason


def test_runner_must_do_the_task(monkeypatch):
    # the embedding runner declares sentence-similarity/feature-extraction only
    _entries(monkeypatch, [ModelEntry("org/emb", "image-classification", "sentence-embedding")])
    _always_installed(monkeypatch)
    with pytest.raises(selector.NoModelError, match="does not do image-classification"):
        selector.select(_t("image-classification"), "x", settings=Settings())


def test_memory_budget_filter(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/huge", "image-to-text", "transformers", size_bytes=40 * 2**30,
                                      downloads=99),
                           ModelEntry("org/small", "image-to-text", "transformers", size_bytes=200 * 2**20)])
    _always_installed(monkeypatch)
    sel = selector.select(_t("image-to-text"), "x", settings=Settings(memory_budget_gb=2))
    assert sel.model.id == "org/small"
    assert "memory budget" in sel.rejected["org/huge"]


def test_licence_filter(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/nc", "image-to-text", "transformers", license="cc-by-nc-4.0",
                                      downloads=99),
                           ModelEntry("org/free", "image-to-text", "transformers", license="apache-2.0")])
    _always_installed(monkeypatch)
    sel = selector.select(_t("image-to-text"), "x", settings=Settings(licences_allowed=["apache-2.0", "mit"]))
    assert sel.model.id == "org/free" and "licence" in sel.rejected["org/nc"]


def test_language_pair_filter_sends_french_to_the_llm():
    s = Settings()
    es = selector.select(_t("translation", text="hello", src_lang="en", tgt_lang="es"), "to Spanish", settings=s)
    assert es.model.id == "local:apertium-eng-spa"
    fr = selector.select(_t("translation", text="hello", src_lang="en", tgt_lang="French"), "to French", settings=s)
    assert fr.model.runtime == "llm"
    assert fr.rejected["local:apertium-eng-spa"] == "translates eng->spa only"
    assert "Helsinki-NLP/opus-mt-en-es" in fr.rejected  # its languages do not include fr


def test_pinned_model_wins_and_a_broken_pin_is_explained(monkeypatch):
    _entries(monkeypatch, [ModelEntry("org/a", "image-classification", "transformers", downloads=9),
                           ModelEntry("org/b", "image-classification", "transformers", downloads=1)])
    _always_installed(monkeypatch)
    ctrl = RecordingController()
    sel = selector.select(_t("image-classification"), "x", controller=ctrl,
                          settings=Settings(pinned_models={"image-classification": "org/b"}))
    assert sel.model.id == "org/b" and "pinned" in sel.reason and ctrl.calls == []
    _always_installed(monkeypatch, {"org/a", "org/b"})  # the pinned org/x is not in the cache
    sel = selector.select(_t("image-classification"), "x",
                          settings=Settings(pinned_models={"image-classification": "org/x"}, offline=True))
    assert sel.model.id == "org/a"
    assert sel.reason.startswith("your pinned org/x cannot run (not in the models cache (offline))")


def test_controller_unavailable_makes_text_tasks_unrunnable(tmp_path, monkeypatch):
    from tests.hubserver import use_temp_models_cache

    use_temp_models_cache(monkeypatch, tmp_path / "empty")
    sel = selector.select(_t("summarization", text="long text"), "summarize", settings=Settings())
    assert sel.model.runtime != "llm" and sel.needs_download  # a Hub summarizer, to be downloaded
    assert "controller model is not available" in sel.rejected[catalog.CONTROLLER_REPO]
    # a remote controller needs no local file
    sel = selector.select(_t("summarization", text="long text"), "summarize",
                          settings=Settings(endpoint_url="http://127.0.0.1:9/v1"))
    assert sel.model.runtime == "llm"


def test_unknown_task_and_aliases():
    with pytest.raises(selector.NoModelError, match="not a task"):
        selector.select(_t("juggling"), "x", settings=Settings())
    sel = selector.select(_t("speech-recognition", audio="a.wav"), "x", settings=Settings())
    assert sel.model.task == "automatic-speech-recognition"


def test_runnable_tasks_and_task_status():
    s = Settings()
    tasks = selector.runnable_tasks(s)
    assert {"automatic-speech-recognition", "sentence-similarity", "summarization"} <= tasks
    assert "text-to-image" not in tasks  # no diffusion model ships in a pack
    st = selector.task_status("text-to-image", s)
    assert st["runnable"] is False and "models get" in st["why_not"]
    st = selector.task_status("automatic-speech-recognition", s)
    assert st["runnable"] and st["default_model"] == "Systran/faster-whisper-tiny.en"


def test_tasks_json_cli():
    import json
    import subprocess
    import sys
    from pathlib import Path

    from core.tasks import TASKS

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "main.py", "tasks", "--json"], cwd=root, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["task"] for r in rows] == list(TASKS)
    for r in rows:
        assert set(r) >= {"task", "runnable", "default_model", "why_not"}
        assert r["runnable"] == (r["why_not"] is None)


@pytest.mark.slow
def test_real_controller_chooses_a_candidate(monkeypatch):
    """The packaged 1.5B controller picks among two candidates under the {"id","reason"} grammar."""
    from core.llm.controllers import load_controller

    _entries(monkeypatch, [
        ModelEntry("Helsinki-NLP/opus-mt-en-de", "translation", "transformers", downloads=50,
                   options={"languages": ["en", "de"]}),
        ModelEntry("Helsinki-NLP/opus-mt-en-fr", "translation", "transformers", downloads=60,
                   options={"languages": ["en", "fr"]})])
    _always_installed(monkeypatch)
    runtimes.clear_cache()
    ctrl = load_controller(Settings())
    sel = selector.select(_t("translation", text="Good morning"), "Translate 'Good morning' into German",
                          controller=ctrl, settings=Settings())
    assert sel.by_llm and sel.model.id in sel.candidates
    assert sel.reason.startswith("chosen by the controller among 2:")


def test_text_task_reports_the_configured_controller():
    small = selector.select(_t("summarization", text="t"), "x", settings=Settings(controller="qwen2.5-coder-0.5b"))
    assert small.model.id == "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF" and small.model.pack == "qwen2.5-coder-0.5b"
    remote = selector.select(_t("summarization", text="t"), "x",
                             settings=Settings(endpoint_url="http://127.0.0.1:9/v1", endpoint_model="qwen-32b"))
    assert remote.model.id == "qwen-32b" and remote.model.runtime == "llm"
