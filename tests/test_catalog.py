"""Catalog: merged facts, per-task queries, defaults, install state, listing and refresh from the Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.models import catalog, downloads
from core.tasks import TASKS
from tests import hubserver

hub_server = hubserver.hub_server
ROOT = Path(__file__).resolve().parent.parent


def test_every_task_has_models_and_hub_facts_are_loaded():
    ids = {m.id for m in catalog.all_models()}
    assert len(ids) > 600  # HuggingGPT's list plus Maestro's runnable models
    assert "Salesforce/blip-image-captioning-large" in ids
    for name in TASKS:
        if name == "fill-mask":  # neither HuggingGPT's list nor the packs have one
            continue
        assert catalog.models_for_task(name), name
    # text2text-generation in HuggingGPT's list is folded into text-generation
    assert all(m.task != "text2text-generation" for m in catalog.all_models())


def test_one_entry_per_model_and_task():
    keys = [(m.id, m.task) for m in catalog.all_models()]
    assert len(keys) == len(set(keys))


def test_defaults_and_llm_fallback():
    asr = catalog.default_model("automatic-speech-recognition")
    assert asr.id == "Systran/faster-whisper-tiny.en" and asr.pack == "whisper-tiny.en"
    summ = catalog.default_model("summarization")
    assert summ.runtime == "llm" and summ.id == "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"
    assert summ.pack == "qwen2.5-coder-1.5b"
    for task in ("summarization", "translation", "question-answering", "text-generation", "conversational"):
        assert any(m.runtime == "llm" for m in catalog.models_for_task(task)), task
    assert catalog.get("Systran/faster-whisper-tiny.en").runtime == "faster-whisper"
    assert catalog.get("no/such-model") is None


def test_models_for_task_ranks_default_then_downloads():
    models = catalog.models_for_task("object-detection")
    rest = [m for m in models if not m.default]
    assert [m.downloads for m in rest] == sorted((m.downloads for m in rest), reverse=True)
    assert catalog.models_for_task("sentence-similarity")[0].default


def test_popularity_comes_from_hub_facts():
    minilm = catalog.get("sentence-transformers/all-MiniLM-L6-v2", "sentence-similarity")
    assert minilm.downloads == 2174613 and minilm.likes == 328  # HuggingGPT's snapshot of the Hub


def test_runtime_is_inferred_from_library_tags():
    assert catalog.get("runwayml/stable-diffusion-v1-5").runtime == "diffusers"
    assert catalog.get("espnet/kan-bayashi_ljspeech_vits").runtime == "espnet"
    assert catalog.get("facebook/detr-resnet-50").runtime == "transformers"


def test_installed_state_follows_the_cache(tmp_path, monkeypatch):
    hubserver.use_temp_models_cache(monkeypatch, tmp_path / "m")
    whisper = catalog.get("Systran/faster-whisper-tiny.en")
    assert not catalog.is_installed(whisper)
    from core.models import hub
    hub.install_packs(["whisper-tiny.en"])
    assert catalog.is_installed(whisper)
    row = next(r for r in catalog.listing(installed_only=True) if r["id"] == whisper.id)
    assert row["size_bytes"] == 78_090_594 and row["source"] == "pack:whisper-tiny.en"


def test_models_list_json_cli():
    out = subprocess.run([sys.executable, "main.py", "models", "list", "--installed", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows and all(r["installed"] for r in rows)
    for key in ("id", "task", "runtime", "size_bytes", "installed", "source"):
        assert all(key in r for r in rows), key
    by_id = {r["id"]: r for r in rows}
    # the packs assembled by `make` (install-packs) are listed with their sizes
    assert by_id["Systran/faster-whisper-tiny.en"]["size_bytes"] > 70_000_000
    assert by_id["Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"]["size_bytes"] >= 1_117_320_768


def test_models_list_unknown_task_is_a_clear_error():
    out = subprocess.run([sys.executable, "main.py", "models", "list", "--task", "juggling"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown task 'juggling'" in out.stderr and "Traceback" not in out.stderr


def test_refresh_from_hub_is_cached_for_offline(hub_server, monkeypatch):
    hub_server.add_repo("Systran/faster-whisper-tiny.en", {"model.bin": b"x" * 1000, "config.json": "{}"},
                        downloads=123_456, likes=77, license="mit")
    assert catalog.refresh(["Systran/faster-whisper-tiny.en"]) == 1
    fresh = catalog.get("Systran/faster-whisper-tiny.en")
    assert fresh.downloads == 123_456 and fresh.likes == 77
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    n = len(hub_server.requests)
    assert catalog.get("Systran/faster-whisper-tiny.en").downloads == 123_456  # from the cached answer
    with pytest.raises(downloads.OfflineError):
        catalog.refresh()
    assert len(hub_server.requests) == n


def test_refresh_reports_errors_and_goes_on(hub_server):
    errors = []
    hub_server.add_repo("org/ok", {"config.json": "{}"}, downloads=5)
    assert catalog.refresh(["org/absent", "org/ok"], on_error=lambda i, e: errors.append((i, e))) == 1
    assert errors and errors[0][0] == "org/absent" and "not found" in errors[0][1]


def test_models_refresh_cli(hub_server):
    hub_server.add_repo("sentence-transformers/all-MiniLM-L6-v2", {"config.json": "{}"}, downloads=999, likes=9)
    out = subprocess.run([sys.executable, "main.py", "models", "refresh", "sentence-transformers/all-MiniLM-L6-v2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert out.returncode == 0 and "refreshed 1 model" in out.stdout, out.stderr
    assert catalog.get("sentence-transformers/all-MiniLM-L6-v2").downloads == 999
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "main.py", "models", "refresh"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 1 and "offline mode is on" in out.stderr and "Traceback" not in out.stderr
