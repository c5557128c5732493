"""The Hugging Face cache layout, written and read without importing huggingface_hub.

    hub/models--org--name/blobs/<etag>           the bytes, named by the Hub's ETag
    hub/models--org--name/snapshots/<commit>/<f>  a relative symlink to the blob (a copy if no symlinks)
    hub/models--org--name/refs/<branch>           the commit a branch points at

The Hub's ETag is the sha256 for files stored with Git LFS and the git blob sha1 for small text
files, so wheel packs that name blobs the same way share them with a later real Hub download."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from pathlib import Path

from core.config.paths import hub_cache

# Patterns of the Hub's default .gitattributes: files matching them are stored with Git LFS.
_LFS_PATTERNS = ("*.7z", "*.arrow", "*.bin", "*.bin.*", "*.bz2", "*.ckpt", "*.ftz", "*.gguf", "*.gz", "*.h5",
                 "*.joblib", "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx",
                 "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar",
                 "*.safetensors", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst",
                 "*tfevents*")
_CHUNK = 1 << 20


def repo_dir(repo_id: str, cache: Path | None = None) -> Path:
    return (cache or hub_cache()) / ("models--" + repo_id.replace("/", "--"))


def is_lfs(filename: str) -> bool:
    name = filename.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) for p in _LFS_PATTERNS)


def sha256_file(path: Path, progress=None) -> str:
    """sha256 of a file; `progress(n_bytes)` is called per chunk read."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file (the Hub's ETag for a non-LFS file)."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_snapshot(repo_id: str, revision: str = "main", cache: Path | None = None) -> Path | None:
    """The snapshot folder a revision (branch name or commit hash) points at, if cached."""
    repo = repo_dir(repo_id, cache)
    ref = repo / "refs" / revision
    if ref.is_file():
        snap = repo / "snapshots" / ref.read_text(encoding="utf-8").strip()
        return snap if snap.is_dir() else None
    snap = repo / "snapshots" / revision
    return snap if revision and "/" not in revision and snap.is_dir() else None


def write_ref(repo_id: str, revision: str, commit: str, cache: Path | None = None) -> None:
    ref = repo_dir(repo_id, cache) / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp = ref.with_name(ref.name + ".tmp")
    tmp.write_text(commit, encoding="utf-8")
    os.replace(tmp, ref)


def link_snapshot_file(blob: Path, snapshot_file: Path) -> None:
    """Point `snapshot_file` at `blob` with a relative symlink, as huggingface_hub does; copy if not possible."""
    snapshot_file.parent.mkdir(parents=True, exist_ok=True)
    if snapshot_file.is_symlink() or snapshot_file.exists():
        snapshot_file.unlink()
    try:
        os.symlink(os.path.relpath(blob, snapshot_file.parent), snapshot_file)
    except OSError:  # e.g. Windows without developer mode
        shutil.copyfile(blob, snapshot_file)
