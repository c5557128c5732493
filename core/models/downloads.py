"""Hub downloads into the HF cache layout: progress, cancel, resume across runs, verification.

huggingface_hub gives us the repo's metadata (commit, sizes, LFS sha256, git blob ids) and its HTTP
session/auth headers; the byte transfer is ours because huggingface_hub 2.x writes to a per-process
temp file that it deletes on failure, so a killed download could never resume. Here each blob is
fetched into `blobs/<etag>.incomplete` (a stable name), continued with an HTTP Range request on the
next run, hashed, and only then renamed into place and linked from the snapshot."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.config.paths import hub_cache
from core.errors import DownloadCancelled, DownloadError, OfflineError
from core.events import DownloadProgress
from core.models import layout as hf_layout

Progress = Callable[[DownloadProgress], None]
_CHUNK = 1 << 20
_DISK_MARGIN = 64 << 20  # keep some room free beyond the download itself


@dataclass
class RemoteFile:
    filename: str
    size: int
    blob_id: str  # git object id
    sha256: str | None  # set for LFS files

    @property
    def etag(self) -> str:
        return self.sha256 or self.blob_id


@dataclass
class RemoteRepo:
    repo_id: str
    commit: str
    files: list[RemoteFile]
    gated: bool = False
    pipeline_tag: str | None = None
    downloads: int = 0
    likes: int = 0
    license: str | None = None
    tags: list[str] = field(default_factory=list)


def is_offline(settings=None) -> bool:
    """HF_HUB_OFFLINE=1 (or TRANSFORMERS_OFFLINE) or the offline setting: no network at all."""
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    if env.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if settings is None:
        from core.config.settings import load_settings

        settings = load_settings()
    return bool(getattr(settings, "offline", False))


def endpoint() -> str:
    """HF_ENDPOINT read at call time (tests and mirrors change it after import)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _friendly(err: Exception, repo_id: str, where: str) -> DownloadError:
    """Turn huggingface_hub / HTTP exceptions into one clear sentence."""
    from huggingface_hub import errors

    if isinstance(err, errors.GatedRepoError):
        return DownloadError(f"{repo_id} is gated: accept its terms on the Hub and log in "
                             f"(`hf auth login` or HF_TOKEN) before downloading")
    if isinstance(err, errors.RepositoryNotFoundError):
        return DownloadError(f"{repo_id} was not found on {where} (check the id; private repos need a token)")
    if isinstance(err, errors.RevisionNotFoundError):
        return DownloadError(f"{repo_id}: that revision does not exist on {where}")
    if isinstance(err, errors.RemoteEntryNotFoundError):
        return DownloadError(f"{repo_id}: a requested file does not exist on {where}")
    if isinstance(err, errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", "?")
        if status in (401, 403):
            return DownloadError(f"{repo_id}: access denied by {where} (HTTP {status}); a token may be needed")
        return DownloadError(f"{repo_id}: {where} answered HTTP {status}")
    import httpx2

    if isinstance(err, httpx2.TimeoutException):
        return DownloadError(f"{where} did not answer in time; try again later or work offline")
    if isinstance(err, httpx2.TransportError | OSError):
        return DownloadError(f"cannot reach {where} (server down or no network): {type(err).__name__}; "
                             f"packaged models still work offline")
    return DownloadError(f"{repo_id}: {type(err).__name__}: {err}")


def fetch_info(repo_id: str, revision: str = "main", *, token: str | bool | None = None,
               settings=None) -> RemoteRepo:
    """Metadata of a Hub repo at a revision, with every file's size and hash."""
    if is_offline(settings):
        raise OfflineError(f"offline mode is on: cannot look up {repo_id} on the Hub")
    from huggingface_hub import HfApi

    where = endpoint()
    try:
        info = HfApi(endpoint=where, token=token).model_info(repo_id, revision=revision, files_metadata=True,
                                                             timeout=15)
    except Exception as e:  # noqa: BLE001 - every failure becomes one user-facing message
        raise _friendly(e, repo_id, where) from e
    files = [RemoteFile(s.rfilename, int(s.size or 0), s.blob_id or "", s.lfs.sha256 if s.lfs else None)
             for s in info.siblings or []]
    card = info.card_data
    lic = card.get("license") if card is not None and hasattr(card, "get") else None
    return RemoteRepo(repo_id, info.sha or revision, files, gated=bool(info.gated),
                      pipeline_tag=info.pipeline_tag, downloads=info.downloads or 0, likes=info.likes or 0,
                      license=lic if isinstance(lic, str) else None, tags=list(info.tags or []))


_PICKLE_WEIGHTS = ("pytorch_model*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle", "*.joblib")
_OTHER_FRAMEWORKS = ("*.h5", "*.msgpack", "*.ot", "tf_model*", "flax_model*", "rust_model*", "*.tflite",
                     "coreml/*", "openvino/*", "*.mlmodel", "*.mlpackage/*")
_MEDIA = ("*.png", "*.jpg", "*.jpeg", "*.gif", "*.webp", "*.mp4", "*.wav", "*.mp3")


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    base = name.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(base, p) for p in patterns)


def choose_files(remote: RemoteRepo, allow_pickle: bool = False) -> list[RemoteFile]:
    """The files worth fetching when none were named: one safe copy of the weights (safetensors over
    pickle; pickle only when allowed), configs and tokenizers; no other frameworks' duplicates."""
    keep = [f for f in remote.files if not _matches(f.filename, _OTHER_FRAMEWORKS + _MEDIA)]
    ggufs = [f.filename for f in keep if f.filename.endswith(".gguf")]
    if len(ggufs) > 1:
        raise DownloadError(f"{remote.repo_id} has {len(ggufs)} GGUF files; pick one with --file "
                            f"(e.g. {ggufs[0]})")
    has_safetensors = any(f.filename.endswith(".safetensors") for f in keep)
    pickles = [f for f in keep if _matches(f.filename, _PICKLE_WEIGHTS)]
    if pickles and not (allow_pickle and not has_safetensors):
        others = [f for f in keep if f not in pickles and f.filename.endswith((".safetensors", ".onnx", ".gguf", ".bin"))]
        if not others:
            raise DownloadError(f"{remote.repo_id} only has pickle weights ({pickles[0].filename}), which can run "
                                f"code when loaded; allow this model in settings (allow_pickle_models) to use it")
        keep = [f for f in keep if f not in pickles]
    if has_safetensors or any(f.filename.endswith(".gguf") for f in keep):
        keep = [f for f in keep if not (f.filename.endswith(".onnx") or f.filename.startswith("onnx/"))]
    return keep


def _select(remote: RemoteRepo, files: list[str] | None, allow_pickle: bool = False) -> list[RemoteFile]:
    if not files:
        return choose_files(remote, allow_pickle)
    if files == ["*"]:
        return list(remote.files)
    chosen = [f for f in remote.files if any(fnmatch.fnmatch(f.filename, pat) for pat in files)]
    missing = [p for p in files if not any(fnmatch.fnmatch(f.filename, p) for f in remote.files)]
    if missing:
        raise DownloadError(f"{remote.repo_id} has no file matching {', '.join(missing)}")
    return chosen


def _hasher(f: RemoteFile):
    if f.sha256:
        return hashlib.sha256()
    h = hashlib.sha1(usedforsecurity=False)
    h.update(b"blob %d\0" % f.size)
    return h


def verify_blob(path: Path, etag: str, progress=None) -> bool:
    """A blob's bytes match the ETag it is named by (sha256 for LFS, git sha1 otherwise)."""
    if len(etag) == 64:
        return hf_layout.sha256_file(path, progress) == etag
    if len(etag) == 40:
        return hf_layout.git_blob_sha1(path) == etag
    return True  # an unknown ETag form carries no checksum


class _Meter:
    """Bytes, speed and ETA for one file; speed counts only bytes fetched in this run."""

    def __init__(self, progress: Progress | None, repo_id: str, f: RemoteFile, already: int) -> None:
        self.progress, self.repo_id, self.f = progress, repo_id, f
        self.done = already
        self.fresh = 0
        self.start = self.last = time.monotonic()

    def emit(self, n: int = 0, *, finished: bool = False, error: str | None = None, force: bool = False) -> None:
        self.done += n
        self.fresh += n
        now = time.monotonic()
        if not self.progress or not (force or finished or error or now - self.last >= 0.2):
            return
        self.last = now
        speed = self.fresh / max(now - self.start, 1e-6)
        eta = (self.f.size - self.done) / speed if speed > 0 else None
        self.progress(DownloadProgress(model=self.repo_id, filename=self.f.filename, done_bytes=self.done,
                                       total_bytes=self.f.size, speed_bps=speed, eta_s=eta,
                                       finished=finished, error=error))


def _fetch(remote: RemoteRepo, f: RemoteFile, blobs: Path, headers: dict, progress: Progress | None,
           cancel: threading.Event | None) -> Path:
    """Download one blob, resuming `<etag>.incomplete`, and verify it. Returns the blob path."""
    import httpx2
    from huggingface_hub.utils import get_session

    blob = blobs / f.etag
    part = blobs / (f.etag + ".incomplete")
    url = f"{endpoint()}/{remote.repo_id}/resolve/{remote.commit}/{f.filename}"
    for attempt in (1, 2):  # a second, clean attempt after a checksum failure
        have = part.stat().st_size if part.exists() else 0
        if have > f.size:
            part.unlink()
            have = 0
        digest = _hasher(f)
        if have:
            with open(part, "rb") as fin:  # the resumed bytes still count for the checksum
                while chunk := fin.read(_CHUNK):
                    digest.update(chunk)
        meter = _Meter(progress, remote.repo_id, f, have)
        meter.emit(force=True)
        req_headers = dict(headers)
        streaming = False
        if have:
            req_headers["Range"] = f"bytes={have}-"
        try:
            if have < f.size or f.size == 0:
                with get_session().stream("GET", url, headers=req_headers, follow_redirects=True,
                                          timeout=httpx2.Timeout(30.0, connect=10.0)) as resp:
                    if resp.status_code == 416 and have:
                        part.unlink()
                        continue
                    if resp.status_code >= 400:
                        resp.read()
                        from huggingface_hub.utils import hf_raise_for_status

                        hf_raise_for_status(resp)
                    streaming = True
                    mode = "ab" if have and resp.status_code == 206 else "wb"
                    if mode == "wb" and have:  # the server ignored Range: start over
                        digest, meter.done = _hasher(f), 0
                    with open(part, mode) as out:
                        for chunk in resp.iter_bytes():  # as received: a cut keeps every byte
                            if cancel is not None and cancel.is_set():
                                raise DownloadCancelled(f"download of {remote.repo_id}/{f.filename} cancelled; "
                                                        f"run it again to resume")
                            out.write(chunk)
                            digest.update(chunk)
                            meter.emit(len(chunk))
        except DownloadError as e:
            meter.emit(error=str(e))
            raise
        except Exception as e:  # noqa: BLE001 - network errors become one clear message; bytes are kept
            err = _friendly(e, remote.repo_id, endpoint())
            if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
                err = DownloadError(f"the disk is full: {remote.repo_id}/{f.filename} stopped at "
                                    f"{meter.done:,} of {f.size:,} bytes; free some space and run it "
                                    f"again to resume")
            elif streaming:
                err = DownloadError(f"download of {remote.repo_id}/{f.filename} was interrupted at "
                                    f"{meter.done:,} of {f.size:,} bytes ({type(e).__name__}); "
                                    f"run it again to resume")
            meter.emit(error=str(err))
            raise err from e
        got = part.stat().st_size
        if got == f.size and digest.hexdigest() == f.etag:
            os.replace(part, blob)
            meter.emit(finished=True)
            return blob
        part.unlink(missing_ok=True)  # wrong bytes: never keep them, fetch again from zero
        if attempt == 2:
            msg = (f"{remote.repo_id}/{f.filename} failed verification twice "
                   f"({got} of {f.size} bytes, checksum mismatch); nothing was kept")
            meter.emit(error=msg)
            raise DownloadError(msg)
    raise DownloadError(f"{remote.repo_id}/{f.filename}: could not download")


class _blob_lock:
    """An inter-process lock per blob (the same .locks folder huggingface_hub uses); waiting for it
    still honours cancel."""

    def __init__(self, repo_id: str, etag: str, cancel: threading.Event | None) -> None:
        from filelock import FileLock

        path = hub_cache() / ".locks" / hf_layout.repo_dir(repo_id).name / f"{etag}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock, self.cancel, self.repo_id = FileLock(str(path)), cancel, repo_id

    def __enter__(self) -> None:
        from filelock import Timeout

        while True:
            try:
                self.lock.acquire(timeout=0.5)
                return
            except Timeout:
                if self.cancel is not None and self.cancel.is_set():
                    raise DownloadCancelled(f"download of {self.repo_id} cancelled while another download "
                                            f"of the same file was running") from None

    def __exit__(self, *exc) -> None:
        self.lock.release()


def _check_disk(todo: list[RemoteFile], blobs: Path) -> None:
    need = 0
    for f in todo:
        part = blobs / (f.etag + ".incomplete")
        need += f.size - (part.stat().st_size if part.exists() else 0)
    probe = blobs
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need + _DISK_MARGIN > free:
        raise DownloadError(f"not enough disk space: the download needs {need / 1e9:.2f} GB, "
                            f"{free / 1e9:.2f} GB free under {probe}")


def download(repo_id: str, files: list[str] | None = None, revision: str = "main", *,
             progress: Progress | None = None, cancel: threading.Event | None = None,
             token: str | bool | None = None, settings=None) -> Path:
    """Fetch a repo's files into the cache; returns the snapshot folder. `files`: glob patterns,
    ["*"] for everything, None for a safe default set (see choose_files). Cached and verified
    blobs are reused; partial ones resume."""
    if is_offline(settings):
        snap = hf_layout.resolve_snapshot(repo_id, revision)
        if snap is not None and all((snap / f).exists() for f in files or [] if "*" not in f):
            return snap
        raise OfflineError(f"offline mode is on and {repo_id} is not in the models cache")
    remote = fetch_info(repo_id, revision, token=token, settings=settings)
    allowed = getattr(settings, "allow_pickle_models", None) if settings is not None else None
    if allowed is None:
        from core.config.settings import load_settings

        allowed = load_settings().allow_pickle_models
    chosen = _select(remote, files, allow_pickle=repo_id in (allowed or []))
    repo = hf_layout.repo_dir(repo_id)
    blobs = repo / "blobs"
    snap = repo / "snapshots" / remote.commit
    todo = []
    for f in chosen:
        blob = blobs / f.etag
        if blob.is_file() and blob.stat().st_size == f.size and verify_blob(blob, f.etag):
            hf_layout.link_snapshot_file(blob, snap / f.filename)
        else:
            blob.unlink(missing_ok=True)
            todo.append(f)
    if todo:
        blobs.mkdir(parents=True, exist_ok=True)
        _check_disk(todo, blobs)
        from huggingface_hub.utils import build_hf_headers

        headers = build_hf_headers(token=token)
        headers["Accept-Encoding"] = "identity"  # byte offsets must be the file's, for Range resume
        for f in todo:
            with _blob_lock(repo_id, f.etag, cancel):  # one writer per .incomplete, across processes
                blob = blobs / f.etag
                if not (blob.is_file() and blob.stat().st_size == f.size):  # another process may have done it
                    blob = _fetch(remote, f, blobs, headers, progress, cancel)
            hf_layout.link_snapshot_file(blob, snap / f.filename)
    snap.mkdir(parents=True, exist_ok=True)
    if revision != remote.commit:
        hf_layout.write_ref(repo_id, revision, remote.commit)
    return snap


# -- the cache: sizes, verification, removal -------------------------------------------------------

@dataclass
class CachedRepo:
    repo_id: str
    size_on_disk: int
    nb_files: int
    revisions: list[str]
    refs: dict[str, str]
    path: str


def cached_repos() -> list[CachedRepo]:
    """What is in the models cache, sized by huggingface_hub's scan_cache_dir."""
    root = hub_cache()
    if not root.is_dir():
        return []
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(root)
    out = []
    for r in sorted(info.repos, key=lambda r: r.repo_id):
        if r.repo_type != "model":
            continue
        refs = {ref: rev.commit_hash for rev in r.revisions for ref in rev.refs}
        out.append(CachedRepo(r.repo_id, r.size_on_disk, r.nb_files, sorted(rv.commit_hash for rv in r.revisions),
                              refs, str(r.repo_path)))
    return out


def size_on_disk(repo_id: str) -> int:
    repo = hf_layout.repo_dir(repo_id)
    blobs = repo / "blobs"
    if not blobs.is_dir():
        return 0
    return sum(p.stat().st_size for p in blobs.iterdir() if p.is_file())


def verify_cached(repo_id: str, revision: str = "main", progress: Progress | None = None) -> list[str]:
    """Re-hash every file of the cached snapshot against the ETag its blob is named by.
    Returns problems (empty = verified). Works offline: the names carry the checksums."""
    snap = hf_layout.resolve_snapshot(repo_id, revision)
    if snap is None:
        return [f"{repo_id} is not in the models cache"]
    problems = []
    for path in sorted(p for p in snap.rglob("*") if p.is_symlink() or p.is_file()):
        rel = path.relative_to(snap).as_posix()
        if not path.exists():
            problems.append(f"{rel}: its blob is missing")
            continue
        if not path.is_symlink():
            continue  # a copied file (no symlinks on this system) carries no ETag name
        blob = path.resolve()
        meter = _Meter(progress, repo_id, RemoteFile(rel, blob.stat().st_size, "", None), 0)
        if not verify_blob(blob, blob.name, lambda n, m=meter: m.emit(n)):
            problems.append(f"{rel}: checksum mismatch (corrupt file)")
        meter.emit(finished=True)
    return problems


def remove(repo_id: str) -> int:
    """Delete a model from the cache (every revision). Returns the bytes freed."""
    repo = hf_layout.repo_dir(repo_id)
    if not repo.exists():
        return 0
    freed = size_on_disk(repo_id)
    shutil.rmtree(repo)
    locks = hub_cache() / ".locks" / repo.name
    shutil.rmtree(locks, ignore_errors=True)
    return freed
