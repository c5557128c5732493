"""The controller a machine can afford (Qt-free), and its download on the loopback Hub with a real GGUF."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from core.errors import DownloadError
from core.selection import recommend
from core.selection.recommend import GB, Machine, choice
from core.selection.recommend import recommend as pick
from tests import hubserver

hub_server = hubserver.hub_server
ROOT = Path(__file__).resolve().parent.parent
SMALL_GGUF = ROOT / "models_cache" / "hub" / "models--Qwen--Qwen2.5-Coder-0.5B-Instruct-GGUF"


def machine(cores=2, ram_gb=8, gpu="", vram_gb=0, offload=False, disk_gb=100, apple=False) -> Machine:
    return Machine("test CPU", cores, cores * 2, int(ram_gb * GB), int(ram_gb * GB / 2), int(disk_gb * GB),
                   gpu, int(vram_gb * GB), offload, apple)


def test_small_machines_keep_the_packaged_model():
    two_cores = pick(machine(cores=2, ram_gb=23))  # this build machine: plenty of RAM, too few cores
    assert two_cores.best.key == "qwen2.5-coder-1.5b"
    assert "slow here" in two_cores.verdict("qwen2.5-3b").why
    low_ram = pick(machine(cores=16, ram_gb=4))
    assert low_ram.best.key == "qwen2.5-coder-1.5b"
    assert not low_ram.verdict("qwen2.5-3b").fits and "not enough memory" in low_ram.verdict("qwen2.5-3b").why
    assert "not enough memory" in low_ram.why


def test_bigger_machines_get_bigger_models():
    assert pick(machine(cores=4, ram_gb=8)).best.key == "qwen2.5-3b"  # 7B does not fit in 8 GB with the experts
    assert pick(machine(cores=8, ram_gb=16)).best.key == "qwen2.5-7b"
    gpu = pick(machine(cores=2, ram_gb=8, gpu="RTX 3060", vram_gb=12, offload=True))
    assert gpu.best.key == "qwen2.5-7b" and "on the GPU" in gpu.verdict("qwen2.5-7b").why
    # A GPU that llama.cpp cannot use (CPU-only build) does not count.
    assert pick(machine(cores=2, ram_gb=8, gpu="RTX 3060", vram_gb=12, offload=False)).best.key == "qwen2.5-coder-1.5b"
    no_disk = pick(machine(cores=8, ram_gb=32, disk_gb=3))
    assert no_disk.best.key == "qwen2.5-coder-1.5b" and "disk" in no_disk.verdict("qwen2.5-7b").why


def test_settings_values_and_unknown_choice():
    assert choice("qwen2.5-coder-1.5b").setting == "qwen2.5-coder-1.5b"
    assert choice("qwen2.5-3b").setting == "hub:Qwen/Qwen2.5-3B-Instruct-GGUF/qwen2.5-3b-instruct-q4_k_m.gguf"
    assert recommend.choice_for_setting(choice("qwen2.5-7b").setting).key == "qwen2.5-7b"
    with pytest.raises(ValueError, match="unknown controller choice 'llama'"):
        choice("llama")


def test_this_machine_is_read_without_torch():
    import subprocess
    import sys

    code = ("import sys, json; from core.selection.recommend import detect_machine; m = detect_machine(); "
            "print(json.dumps(m.to_dict())); sys.exit(1 if 'torch' in sys.modules else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    m = json.loads(proc.stdout)
    assert m["cores"] >= 1 and m["ram_bytes"] > GB and m["disk_free_bytes"] > 0 and m["cpu"]


def test_offline_tasks_match_the_tasks_command():
    ready, missing = recommend.offline_tasks()
    assert "optical-character-recognition" in ready and "text-to-speech" in ready
    assert dict(missing).get("image-to-text")  # the captioner is a Hub download: it says why


@pytest.fixture
def stand_in_3b(hub_server):
    """The packaged 0.5B GGUF (real, small) served as the 3B repo's file."""
    snap = next((SMALL_GGUF / "snapshots").iterdir())
    data = (snap / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").read_bytes()
    c = choice("qwen2.5-3b")
    hub_server.add_repo(c.repo, {c.files[0]: data, "README.md": "stand-in"}, license="apache-2.0")
    return c, data


@pytest.mark.slow
def test_download_resumes_checks_sha256_and_loads(stand_in_3b, hub_server):
    c, data = stand_in_3b
    hub_server.cut_after[c.files[0]] = 100_000_000
    events = []
    with pytest.raises(DownloadError, match="resume"):
        recommend.download_controller(c, progress=events.append)
    setting = recommend.download_controller(c, progress=events.append)
    assert setting == c.setting
    assert any(r[1].startswith("bytes=") and r[1] != "bytes=0-" for r in hub_server.ranges)  # resumed
    from core.llm.controllers import controller_model_path

    path = controller_model_path(setting)
    assert path.resolve().name == hashlib.sha256(data).hexdigest()  # the blob is named by its checked sha256
    assert events[-1].finished and events[-1].done_bytes == len(data)
    from llama_cpp import Llama  # a real GGUF: llama.cpp reads its vocabulary

    llm = Llama(str(path), vocab_only=True, verbose=False)
    assert llm.n_vocab() > 100_000
    assert os.environ["HF_HUB_CACHE"] in str(path)  # the temp cache of the fixture, not the repo's


def test_packaged_choice_needs_no_download(hub_server):
    assert recommend.download_controller(choice("qwen2.5-coder-1.5b")) == "qwen2.5-coder-1.5b"
    assert hub_server.requests == []
