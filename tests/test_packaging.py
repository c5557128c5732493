"""`maestro --selftest` from source, and the bundle's start-up rules (core/config/frozen.py).

The bundle itself is built and self-tested by `make package-test` (minutes of CPU), not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import frozen

ROOT = Path(__file__).resolve().parent.parent


def _selftest(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "--selftest", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_selftest_plans_with_the_real_controller():
    proc = _selftest("--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["versions"]["libraries"]["llama-cpp-python"]
    assert report["versions"]["frozen"] is False
    assert report["devices"]["torch"]["device"] in ("cpu", "cuda", "mps")
    assert "CPUExecutionProvider" in report["devices"]["ort_providers"]
    assert report["locations"]["models"] == str((ROOT / "models_cache").resolve())
    assert report["locations"]["data"] == os.environ["MAESTRO_DATA"]
    plan = report["plan"]
    assert plan["controller"] == "qwen2.5-coder-1.5b"
    tasks = plan["plan"]["tasks"]
    assert tasks and plan["error"] is None
    # Every planned task is one this install can run, and references point at earlier tasks.
    assert {t["task"] for t in tasks} <= set(plan["runnable_tasks"])
    ids = [t["id"] for t in tasks]
    for t in tasks:
        assert all(d in ids and d != t["id"] for d in t["dep"])
    assert "summarization" in {t["task"] for t in tasks}


def test_selftest_without_a_controller_fails_clearly(tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    proc = _selftest(env={"MAESTRO_MODELS": str(empty)}, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "controller not available" in proc.stderr
    assert "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF" in proc.stderr
    assert "install-packs" in proc.stderr
    # The versions and device block is printed before the controller is looked for.
    assert "llama-cpp-python" in proc.stdout and "device:" in proc.stdout
    assert f"models    {empty.resolve()}" in proc.stdout
    assert "selftest ok" not in proc.stdout


def test_selftest_with_a_corrupt_gguf_fails_clearly(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    proc = _selftest("--controller", str(bad), "--json", timeout=120)
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    assert report["ok"] is False and "broken.gguf" in report["plan"]["error"]
    assert "Traceback" not in proc.stderr


def test_extras_folders_in_priority_order(tmp_path, monkeypatch):
    env_a, env_b = tmp_path / "a", tmp_path / "b"
    env_a.mkdir()
    env_b.mkdir()
    user = tmp_path / "user"
    (user / "extras").mkdir(parents=True)
    monkeypatch.setattr(frozen, "user_dir", lambda: user)
    monkeypatch.setenv(frozen.EXTRAS_ENV, os.pathsep.join([str(env_b), str(tmp_path / "missing"), str(env_a)]))
    # Missing folders are skipped; a folder named twice counts once.
    assert frozen.extras_dirs() == [env_b, env_a, user / "extras"]


def test_prepare_keeps_models_out_of_the_bundle_and_loads_extras(tmp_path, monkeypatch):
    user = tmp_path / "user"
    extras = user / "extras"
    pkg = extras / "maestro_extra_probe"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 41 + 1\n")
    monkeypatch.setattr(frozen, "user_dir", lambda: user)
    monkeypatch.delenv(frozen.EXTRAS_ENV, raising=False)
    # prepare() writes os.environ itself: give monkeypatch the whole environment to restore,
    # or MAESTRO_MODELS would point every later test at this empty folder.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    os.environ.pop("MAESTRO_MODELS", None)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("maestro_extra_probe", None)

    assert frozen.prepare() == [extras]
    assert os.environ["MAESTRO_MODELS"] == str(user / "models")
    assert sys.path[0] == str(extras)  # before the bundled modules, so it can replace them
    from core.config import paths
    from core.models import runtimes

    assert paths.models_cache() == (user / "models").resolve()
    assert runtimes._has_module("maestro_extra_probe")
    import maestro_extra_probe

    assert maestro_extra_probe.VALUE == 42
    sys.modules.pop("maestro_extra_probe", None)


def test_prepare_respects_an_explicit_models_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(frozen, "user_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(os, "environ", os.environ.copy())  # prepare() writes os.environ
    monkeypatch.setenv("MAESTRO_MODELS", str(tmp_path / "mine"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    frozen.prepare()
    assert os.environ["MAESTRO_MODELS"] == str(tmp_path / "mine")


def test_spec_bundles_what_frozen_code_reads():
    """Files core/ opens by path when frozen must be in the spec's datas (a missing one only shows
    up in the bundle, minutes into a build)."""
    spec = (ROOT / "packaging" / "maestro.spec").read_text(encoding="utf-8")
    assert '"prompts"' in spec and (ROOT / "prompts" / "plan_steps_system.txt").is_file()
    # The whole data folder: catalog facts, the planner's step head, palettes.
    assert '(str(ROOT / "core" / "data"), "core/data")' in spec
    assert {"hub_facts.jsonl", "step_head.npz"} <= {p.name for p in (ROOT / "core" / "data").iterdir()}
    assert "rthook_maestro.py" in spec and (ROOT / "packaging" / "rthook_maestro.py").is_file()
    assert '"llama_cpp/lib"' in spec
