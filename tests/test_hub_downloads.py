"""Hub downloads against the loopback Hub server: progress, resume, corruption, errors, offline."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.errors import DownloadCancelled, DownloadError, OfflineError
from core.models import downloads, hub
from tests import hubserver
from tests.hubserver import HubServer, point_hub_at

hub_server = hubserver.hub_server  # the fixture, made visible to pytest in this module

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = os.urandom(1_500_000)  # random bytes standing in for weights: only the mechanics are tested
CONFIG = '{"model_type": "bert", "hidden_size": 8}'


def _add_tiny(server: HubServer, repo_id: str = "org/tiny", **facts):
    return server.add_repo(repo_id, {"config.json": CONFIG, "model.safetensors": WEIGHTS,
                                     "tokenizer/vocab.txt": "[PAD]\n[UNK]\nhello\n"}, **facts)


def _gets(server: HubServer, name: str) -> list[str]:
    return [r for r in server.requests if r.startswith("GET ") and r.endswith("/" + name)]


def test_download_progress_and_layout(hub_server):
    repo = _add_tiny(hub_server)
    events = []
    snap = downloads.download("org/tiny", progress=events.append)
    assert snap.name == repo.commit
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS
    assert (snap / "tokenizer" / "vocab.txt").read_text().startswith("[PAD]")
    # blobs named like huggingface_hub names them: sha256 for LFS files, git sha1 for small ones
    assert (snap / "model.safetensors").resolve().name == hashlib.sha256(WEIGHTS).hexdigest()
    assert (snap / "config.json").resolve().name == repo.etag("config.json")
    assert hub.model_path("org/tiny") == snap
    weights = [e for e in events if e.filename == "model.safetensors"]
    assert weights[-1].finished and weights[-1].done_bytes == len(WEIGHTS) == weights[-1].total_bytes
    assert all(a.done_bytes <= b.done_bytes for a, b in zip(weights, weights[1:], strict=False))
    assert weights[-1].speed_bps > 0
    # huggingface_hub sees the same cache (no second download)
    from huggingface_hub import hf_hub_download
    n = len(hub_server.requests)
    p = hf_hub_download("org/tiny", "model.safetensors", cache_dir=os.environ["HF_HUB_CACHE"], local_files_only=True)
    assert Path(p).read_bytes() == WEIGHTS and len(hub_server.requests) == n
    assert hub.verify_model("org/tiny") == []
    repos = {r.repo_id: r for r in downloads.cached_repos()}
    assert repos["org/tiny"].size_on_disk >= len(WEIGHTS)
    from core.models import (
        catalog,  # a model fetched by id, unknown to the catalog, is still listed as installed
    )
    row = next(r for r in catalog.listing(installed_only=True) if r["id"] == "org/tiny")
    assert row["source"] == "cache" and row["size_bytes"] >= len(WEIGHTS)


def test_interrupted_download_resumes_without_refetching(hub_server):
    _add_tiny(hub_server)
    hub_server.cut_after["model.safetensors"] = 600_000
    with pytest.raises(DownloadError, match="interrupted .* run it again to resume"):
        downloads.download("org/tiny")
    partial = list(Path(os.environ["HF_HUB_CACHE"]).rglob("*.incomplete"))
    assert len(partial) == 1 and 0 < partial[0].stat().st_size <= 600_000
    kept = partial[0].stat().st_size
    snap = downloads.download("org/tiny")
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS
    assert ("/org/tiny/resolve/" + snap.name + "/model.safetensors", f"bytes={kept}-") in hub_server.ranges
    assert not list(Path(os.environ["HF_HUB_CACHE"]).rglob("*.incomplete"))


def test_corrupted_transfer_is_detected_and_refetched(hub_server):
    _add_tiny(hub_server)
    hub_server.corrupt_next.add("model.safetensors")
    snap = downloads.download("org/tiny")
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS
    assert len(_gets(hub_server, "model.safetensors")) == 2  # bad bytes thrown away, fetched again


def test_corrupted_cache_file_is_found_and_refetched(hub_server):
    _add_tiny(hub_server)
    snap = downloads.download("org/tiny")
    blob = (snap / "model.safetensors").resolve()
    with open(blob, "r+b") as fh:
        fh.write(b"\0\0\0\0")
    assert hub.verify_model("org/tiny") == ["model.safetensors: checksum mismatch (corrupt file)"]
    downloads.download("org/tiny")
    assert hub.verify_model("org/tiny") == []
    assert len(_gets(hub_server, "model.safetensors")) == 2


def test_cancel_keeps_bytes_for_resume(hub_server):
    _add_tiny(hub_server)
    hub_server.throttle_bps = 4_000_000
    cancel = threading.Event()

    def on_progress(ev):
        if ev.filename == "model.safetensors" and ev.done_bytes > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="resume"):
        downloads.download("org/tiny", progress=on_progress, cancel=cancel)
    assert list(Path(os.environ["HF_HUB_CACHE"]).rglob("*.incomplete"))
    hub_server.throttle_bps = 0
    snap = downloads.download("org/tiny")
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS
    assert any(r[1] != "bytes=0-" for r in hub_server.ranges)


def test_only_requested_files(hub_server):
    _add_tiny(hub_server)
    snap = downloads.download("org/tiny", files=["config.json", "tokenizer/*"])
    assert sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file()) == [
        "config.json", "tokenizer/vocab.txt"]
    with pytest.raises(DownloadError, match="no file matching nope.bin"):
        downloads.download("org/tiny", files=["nope.bin"])


def test_missing_repo_gated_repo_and_token(hub_server):
    _add_tiny(hub_server, "org/locked", gated=True)
    with pytest.raises(DownloadError, match="was not found"):
        downloads.download("org/absent")
    with pytest.raises(DownloadError, match="is gated"):
        downloads.download("org/locked")
    assert not list(Path(os.environ["HF_HUB_CACHE"]).rglob("*.incomplete"))
    hub_server.tokens.add("hf_test_token")
    snap = downloads.download("org/locked", token="hf_test_token")
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS


def test_server_down_is_a_clear_error(hub_server, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_hub_at(monkeypatch, f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError, match="cannot reach"):
        downloads.download("org/tiny")


def test_not_enough_disk_space(hub_server, monkeypatch):
    _add_tiny(hub_server)
    monkeypatch.setattr(downloads.shutil, "disk_usage", lambda p: type("U", (), {"free": 1000})())
    with pytest.raises(DownloadError, match="not enough disk space"):
        downloads.download("org/tiny")
    assert not _gets(hub_server, "model.safetensors")  # refused before any byte was fetched


def test_offline_mode_touches_no_network(hub_server, monkeypatch):
    _add_tiny(hub_server)
    snap = downloads.download("org/tiny")
    before = len(hub_server.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    attempts = []

    def no_connect(self, *a, **k):
        attempts.append(a)
        raise AssertionError("offline mode opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect)
    assert downloads.download("org/tiny") == snap  # cached: served from disk
    with pytest.raises(OfflineError, match="offline"):
        downloads.download("org/other")
    with pytest.raises(OfflineError):
        downloads.fetch_info("org/tiny")
    assert attempts == [] and len(hub_server.requests) == before


def test_offline_setting_also_blocks(hub_server):
    from core.config.settings import Settings

    _add_tiny(hub_server)
    with pytest.raises(OfflineError):
        downloads.download("org/tiny", settings=Settings(offline=True))
    assert hub_server.requests == []


def test_remove_frees_space(hub_server):
    _add_tiny(hub_server)
    downloads.download("org/tiny")
    assert hub.remove_model("org/tiny") >= len(WEIGHTS)
    with pytest.raises(hub.ModelMissing):
        hub.model_path("org/tiny")
    assert hub.remove_model("org/tiny") == 0


def test_cli_get_killed_midway_resumes_and_verifies(hub_server, tmp_path):
    """`models get` shows progress, is killed mid-way, and the re-run resumes and verifies."""
    big = os.urandom(6_000_000)
    hub_server.add_repo("org/big", {"config.json": CONFIG, "model.safetensors": big})
    hub_server.throttle_bps = 2_000_000
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "main.py", "models", "get", "org/big"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cache = Path(os.environ["HF_HUB_CACHE"])
    deadline = time.monotonic() + 60
    partial: list[Path] = []
    while time.monotonic() < deadline:
        partial = list(cache.rglob("*.incomplete"))
        if partial and partial[0].stat().st_size > 1_000_000:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    _, err1 = proc.communicate(timeout=30)
    assert partial, "the download never started"
    kept = partial[0].stat().st_size
    assert 1_000_000 < kept < len(big)
    assert "org/big/model.safetensors [" in err1  # the progress bar was showing
    hub_server.throttle_bps = 0
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "verified" in out.stdout
    assert any(r == f"bytes={kept}-" for _, r in hub_server.ranges)
    assert hub.model_path("org/big", "model.safetensors").read_bytes() == big


def test_default_file_choice_prefers_safetensors_and_refuses_pickle(hub_server):
    from core.config.settings import Settings

    hub_server.add_repo("org/both", {"config.json": CONFIG, "model.safetensors": WEIGHTS,
                                     "pytorch_model.bin": b"pickle" * 100, "tf_model.h5": b"h5" * 100,
                                     "flax_model.msgpack": b"m" * 100, "onnx/model.onnx": b"o" * 100})
    snap = downloads.download("org/both")
    assert sorted(p.name for p in snap.iterdir()) == ["config.json", "model.safetensors"]
    hub_server.add_repo("org/pickled", {"config.json": CONFIG, "pytorch_model.bin": b"pickle" * 100})
    with pytest.raises(DownloadError, match="only has pickle weights"):
        downloads.download("org/pickled", settings=Settings())
    assert not _gets(hub_server, "pytorch_model.bin")
    snap = downloads.download("org/pickled", settings=Settings(allow_pickle_models=["org/pickled"]))
    assert (snap / "pytorch_model.bin").exists()  # the user opted in for this model id
    hub_server.add_repo("org/quants", {"a-q4.gguf": b"1" * 10, "a-q8.gguf": b"2" * 10})
    with pytest.raises(DownloadError, match="pick one with --file"):
        downloads.download("org/quants")
    snap = downloads.download("org/quants", files=["a-q4.gguf"])
    assert [p.name for p in snap.iterdir()] == ["a-q4.gguf"]
    snap = downloads.download("org/both", files=["*"])
    assert (snap / "tf_model.h5").exists()


def test_ensure_entry_fetches_a_selected_model_once(hub_server):
    from core.config.settings import Settings
    from core.models.entry import ModelEntry

    _add_tiny(hub_server, "org/detector")
    entry = ModelEntry("org/detector", "object-detection", "transformers")
    events = []
    snap = hub.ensure_entry(entry, progress=events.append, settings=Settings())
    assert (snap / "model.safetensors").read_bytes() == WEIGHTS and events[-1].finished
    n = len(hub_server.requests)
    assert hub.ensure_entry(entry, settings=Settings()) == snap and len(hub_server.requests) == n
    assert hub.ensure_entry(ModelEntry("local:vader", "text-classification", "vader",
                                       options={"python_package": "vaderSentiment"})) is None
    with pytest.raises(OfflineError):
        hub.ensure_entry(ModelEntry("org/other", "object-detection", "transformers"), settings=Settings(offline=True))


def test_two_concurrent_downloads_of_one_model_fetch_it_once(hub_server):
    _add_tiny(hub_server)
    hub_server.throttle_bps = 3_000_000
    results, errors = [], []

    def worker():
        try:
            results.append(downloads.download("org/tiny"))
        except Exception as e:  # noqa: BLE001 - collected for the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 2 and results[0] == results[1]
    assert (results[0] / "model.safetensors").read_bytes() == WEIGHTS
    assert len(_gets(hub_server, "model.safetensors")) == 1  # the second waited and reused the blob
