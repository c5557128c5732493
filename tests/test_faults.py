"""Injected faults: corrupt weights, runners that raise or hang, a too-small memory budget, a full
disk (a real tmpfs where the test may mount one, and a simulated ENOSPC), and the loopback Hub
server killed mid-download. After each fault a good task runs in the same process."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.config.paths import new_session_dir
from core.errors import DownloadError, RunnerError
from core.execution.executor import Assignment, Executor
from core.execution.runners.base import RunContext, write_atomic
from core.models import catalog, downloads
from core.models import pool as pool_module
from core.models.entry import ModelEntry
from core.models.pool import ModelPool
from core.plan import parse_plan
from tests.hubserver import HubServer, point_hub_at, use_temp_models_cache
from tests.runner_support import speak

ROOT = Path(__file__).resolve().parent.parent
WHISPER = "Systran/faster-whisper-tiny.en"


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return speak("Please book a table for two at seven.", tmp_path_factory.mktemp("speech") / "speech.wav")


def _asr_plan(*names: str):
    return parse_plan({"tasks": [{"id": i, "task": "automatic-speech-recognition", "dep": [],
                                  "args": {"audio": n}} for i, n in enumerate(names, start=1)]})


def _run_asr(speech: Path, executor: Executor | None = None, **assign):
    session = new_session_dir()
    shutil.copy(speech, session / "inputs" / "speech.wav")
    plan = _asr_plan("speech.wav")
    entry = catalog.get(WHISPER)
    results = (executor or Executor()).run(plan, {1: Assignment(entry, **assign)}, session)
    return results[1]


def _assert_good(result) -> None:
    assert result.status == "done", result.error
    assert "table" in result.output.text.lower()


# -- a model that fails to load ---------------------------------------------------------------------
@pytest.mark.slow
def test_corrupt_weights_fail_the_task_then_the_real_model_runs(speech, tmp_path, monkeypatch):
    from core.models.locate import model_dir

    entry = catalog.get(WHISPER)
    good = model_dir(entry)
    repo = good.parent.parent  # models--Systran--faster-whisper-tiny.en
    cache = tmp_path / "models"
    copy = cache / "hub" / repo.name
    shutil.copytree(repo, copy, symlinks=False)  # resolve the blob links: real files we may damage
    snap = copy / "snapshots" / good.name
    weights = snap / "model.bin"
    weights.unlink()
    weights.write_bytes(os.urandom(300_000))  # right name, garbage content
    with monkeypatch.context() as m:
        m.setenv("MAESTRO_MODELS", str(cache))
        m.setenv("HF_HUB_CACHE", str(cache / "hub"))
        broken = _run_asr(speech)
    assert broken.status == "failed"
    assert f"could not load {WHISPER}" in broken.error and "Traceback" not in broken.error
    _assert_good(_run_asr(speech))  # the real cache again, same process


# -- runners that raise or hang ---------------------------------------------------------------------
class Misbehaving:
    """Delegates to the real runner, except for the runtimes named 'hang' and 'explode'."""

    def __init__(self):
        self.released = threading.Event()

    def __call__(self, runtime: str):
        if runtime == "hang":
            return self
        if runtime == "explode":
            return _Explodes()
        from core.execution.runners import get_runner

        return get_runner(runtime)

    runtime = "hang"

    def run(self, ctx: RunContext, inputs):
        # Ignores its cancel flag the way a stuck native call would (bounded so the suite never hangs).
        self.released.wait(30)
        raise RunnerError("released")


class _Explodes:
    runtime = "explode"

    def run(self, ctx, inputs):
        return {"not": "a TaskOutput"}["missing"]  # a runner bug: KeyError


@pytest.mark.slow
def test_hang_and_crash_fail_only_their_tasks(speech):
    lookup = Misbehaving()
    whisper = catalog.get(WHISPER)
    hang = ModelEntry(id="test/hang", task="automatic-speech-recognition", runtime="hang")
    boom = ModelEntry(id="test/boom", task="automatic-speech-recognition", runtime="explode")
    session = new_session_dir()
    shutil.copy(speech, session / "inputs" / "speech.wav")
    plan = parse_plan({"tasks": [
        {"id": 1, "task": "automatic-speech-recognition", "dep": [], "args": {"audio": "speech.wav"}},
        {"id": 2, "task": "automatic-speech-recognition", "dep": [], "args": {"audio": "speech.wav"}},
        {"id": 3, "task": "automatic-speech-recognition", "dep": [], "args": {"audio": "speech.wav"}},
        {"id": 4, "task": "summarization", "dep": [1], "args": {"text": "<resource>-1"}},
    ]})
    _assert_good(_run_asr(speech))  # warm: the timeout below is for the hung task, not a cold load
    executor = Executor(runner_lookup=lookup, task_timeout_s=8.0)
    t0 = time.monotonic()
    try:
        results = executor.run(plan, {1: Assignment(hang), 2: Assignment(boom), 3: Assignment(whisper),
                                      4: Assignment(whisper)}, session)
    finally:
        lookup.released.set()
    assert time.monotonic() - t0 < 28  # the hung task did not hold the turn for its 30 s
    assert results[1].status == "failed" and "timed out after 8 s" in results[1].error
    assert results[2].status == "failed" and results[2].error.startswith("KeyError")
    _assert_good(results[3])
    assert results[4].status == "skipped" and "task 1" in results[4].error
    _assert_good(_run_asr(speech, executor))  # the same executor keeps working


# -- out of memory ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_memory_budget_refuses_a_model_with_a_message(speech, monkeypatch):
    small = ModelPool(budget_bytes=8 * 2**20)  # 8 MB: whisper tiny.en needs ~75 MB
    monkeypatch.setattr(pool_module, "_default", small)
    refused = _run_asr(speech)
    assert refused.status == "failed"
    assert refused.error.startswith("not enough memory") and "memory budget is 0.01 GB" in refused.error
    assert small.resident() == [] and small.loads == 0  # nothing was loaded
    monkeypatch.setattr(pool_module, "_default", ModelPool(budget_bytes=4 * 2**30))
    _assert_good(_run_asr(speech))


# -- disk full ---------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A real 256 KB tmpfs (needs root or CAP_SYS_ADMIN); `grow(size)` enlarges it in place."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()} (simulated ENOSPC tests still run)")

    def grow(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(mnt)], check=True)

    try:
        yield mnt, grow
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_artifact_write_on_a_full_disk_fails_cleanly(monkeypatch, tmp_path):
    import core.execution.runners.base as base

    class FullDisk:
        def __init__(self, path, mode):
            self.f = open(path, mode)  # noqa: SIM115 - wrapped to fail mid-write

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(base, "open", FullDisk, raising=False)
    target = tmp_path / "out.wav"
    with pytest.raises(RunnerError, match="the disk is full: could not write out.wav"):
        write_atomic(target, b"x" * 10_000)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temp file is left
    monkeypatch.undo()
    write_atomic(target, b"ok")
    assert target.read_bytes() == b"ok"


@pytest.mark.slow
def test_tts_artifact_on_a_real_full_disk_then_after_space_is_freed(small_disk, monkeypatch):
    mnt, grow = small_disk
    monkeypatch.setenv("MAESTRO_DATA", str(mnt))
    piper = catalog.get("rhasspy/piper-voices")
    assert piper is not None
    text = "The disk was full a moment ago, and now there is room again. " * 2
    plan = parse_plan({"tasks": [{"id": 1, "task": "text-to-speech", "dep": [], "args": {"text": text}}]})
    filler = mnt / "filler.bin"
    session = new_session_dir("full")
    filler.write_bytes(b"\0" * (200 * 1024))  # leaves well under the ~300 KB the WAV needs
    r = Executor().run(plan, {1: Assignment(piper)}, session)[1]
    assert r.status == "failed" and r.error.startswith("the disk is full"), r.error
    assert list((session / "artifacts").iterdir()) == []  # no half-written WAV, no temp file
    grow("8m")
    r = Executor().run(plan, {1: Assignment(piper)}, new_session_dir("roomy"))[1]
    assert r.status == "done", r.error
    wav = Path(r.output.files[0].path)
    assert wav.stat().st_size > 200 * 1024 and wav.read_bytes()[:4] == b"RIFF"


WEIGHTS = os.urandom(1_500_000)


def _add_tiny(server: HubServer) -> None:
    server.add_repo("org/tiny", {"config.json": '{"model_type": "bert"}', "model.safetensors": WEIGHTS})


def test_download_onto_a_real_full_disk_then_resumes(small_disk, monkeypatch):
    mnt, grow = small_disk
    with HubServer() as server:
        _add_tiny(server)
        point_hub_at(monkeypatch, server.url)
        use_temp_models_cache(monkeypatch, mnt / "models")
        grow("1m")
        # Another program fills the disk after the free-space check passed.
        monkeypatch.setattr(downloads, "_check_disk", lambda todo, blobs: None)
        with pytest.raises(DownloadError, match="the disk is full: org/tiny/model.safetensors stopped at"):
            downloads.download("org/tiny")
        (partial,) = list(mnt.rglob("*.incomplete"))
        kept = partial.stat().st_size
        assert 0 < kept < len(WEIGHTS)
        grow("8m")
        snap = downloads.download("org/tiny")
        assert (snap / "model.safetensors").read_bytes() == WEIGHTS
        assert any(rng == f"bytes={kept}-" for _, rng in server.ranges)  # resumed, not refetched


# -- the Hub server dies mid-download ---------------------------------------------------------------
_SERVE = """
import sys, time
sys.path.insert(0, {root!r})
from tests.hubserver import HubServer
s = HubServer()
s.add_repo("org/tiny", {{"config.json": '{{"model_type": "bert"}}',
                        "model.safetensors": open({weights!r}, "rb").read()}})
s.throttle_bps = {bps}
s.start()
print(s.url, flush=True)
time.sleep(600)
"""


def _serve(tmp_path: Path, bps: float) -> tuple[subprocess.Popen, str]:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(WEIGHTS)
    code = _SERVE.format(root=str(ROOT), weights=str(weights), bps=bps)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def test_hub_server_killed_mid_download_then_resume(tmp_path, monkeypatch):
    use_temp_models_cache(monkeypatch, tmp_path / "models")
    proc, url = _serve(tmp_path, bps=600_000)  # ~2.5 s for the weights
    point_hub_at(monkeypatch, url)
    errors: list[Exception] = []

    def fetch():
        try:
            downloads.download("org/tiny")
        except DownloadError as e:
            errors.append(e)

    t = threading.Thread(target=fetch)
    try:
        t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = list((tmp_path / "models").rglob("*.incomplete"))
            if parts and parts[0].stat().st_size > 300_000:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # the server dies, no goodbye
        t.join(60)
    finally:
        proc.kill()
        proc.wait()
    assert not t.is_alive()
    assert len(errors) == 1 and "Traceback" not in str(errors[0])
    assert "interrupted" in str(errors[0]) or "cannot reach" in str(errors[0]), errors[0]
    (partial,) = list((tmp_path / "models").rglob("*.incomplete"))
    kept = partial.stat().st_size
    # While the server is down, a retry fails clearly and keeps the partial bytes.
    with pytest.raises(DownloadError, match="cannot reach"):
        downloads.download("org/tiny")
    assert partial.stat().st_size == kept
    proc2, url2 = _serve(tmp_path, bps=0)
    try:
        point_hub_at(monkeypatch, url2)
        snap = downloads.download("org/tiny")
    finally:
        proc2.kill()
        proc2.wait()
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS
    assert not list((tmp_path / "models").rglob("*.incomplete"))


def test_runners_write_files_only_through_write_atomic():
    """A crash mid-write must never leave half an artifact: every runner writes via write_atomic
    (temp file + fsync + rename); direct writes to a path are flagged here."""
    import re

    direct = re.compile(r"write_bytes\(|write_text\(|open\((?!buf\b)[^)]*['\"][wax]b?\+?['\"]|shutil\.(copy|move)|"
                        r"\.save\((?!buf\b)|sf\.write\((?!buf\b)|to_file\(")
    offenders = []
    runners = sorted((ROOT / "core" / "execution" / "runners").glob("*.py"))
    for path in runners:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if direct.search(line) and not (path.name == "base.py" and "open(tmp" in line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
    assert len(runners) > 10
