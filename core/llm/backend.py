"""Which llama.cpp CPU backend runs on this machine, chosen at run time and health-checked.

Maestro builds llama.cpp with GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS (the Makefile and the
bundle): one `libggml-cpu-<variant>.so` per CPU feature level sits next to libllama.so. ggml's own
chooser trusts CPUID, so a CPU that advertises AMX whose kernel never enabled the tile state gets the
AMX build and dies with SIGILL at the first long prompt. Here a variant is offered only when the
kernel reports its features (/proc/cpuinfo lists what the OS enabled) and, the first time on a given
build + CPU, when a child process decoded a ~300-token prompt with it without crashing; a crash
moves on to the next variant down. The verdict is cached, so later starts cost nothing.

A build without variant files (a GPU build, a plain wheel) is left to llama.cpp as it is."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import logging
import os
import platform
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger("maestro.llama")

# ggml's x86 variants, worst to best, with the /proc/cpuinfo flags each needs (ggml/src/CMakeLists.txt).
_AVX2 = ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"]
_AVX512 = [*_AVX2, "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"]
X86_VARIANTS: dict[str, list[str]] = {
    "x64": [],
    "sse42": ["sse4_2"],
    "sandybridge": ["sse4_2", "avx"],
    "ivybridge": ["sse4_2", "avx", "f16c"],
    "piledriver": ["sse4_2", "avx", "f16c", "fma"],
    "haswell": _AVX2,
    "alderlake": [*_AVX2, "avx_vnni"],
    "skylakex": _AVX512,
    "cannonlake": [*_AVX512, "avx512vbmi"],
    "cascadelake": [*_AVX512, "avx512_vnni"],
    "icelake": [*_AVX512, "avx512vbmi", "avx512_vnni"],
    "cooperlake": [*_AVX512, "avx512_vnni", "avx512_bf16"],
    "zen4": [*_AVX512, "avx512vbmi", "avx512_vnni", "avx512_bf16"],
    "sapphirerapids": [*_AVX512, "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"],
}
# arm64 (Linux): /proc/cpuinfo "Features" names for ggml's DOTPROD, FP16, SVE, I8MM, SVE2, SME.
ARM_VARIANTS: dict[str, list[str]] = {
    "armv8.0_1": [],
    "armv8.2_1": ["asimddp"],
    "armv8.2_2": ["asimddp", "asimdhp"],
    "armv8.2_3": ["asimddp", "asimdhp", "sve"],
    "armv8.6_1": ["asimddp", "asimdhp", "sve", "i8mm"],
    "armv8.6_2": ["asimddp", "asimdhp", "sve", "i8mm", "sve2"],
    "armv9.2_1": ["asimddp", "asimdhp", "sve", "i8mm", "sme"],
    "armv9.2_2": ["asimddp", "asimdhp", "sve", "i8mm", "sve2", "sme"],
}
# Other backends a DL build may carry; loaded explicitly because loading the CPU variant ourselves
# means llama.cpp no longer searches for backends on its own.
OTHER_BACKENDS = ("cuda", "hip", "vulkan", "metal", "blas", "rpc", "opencl", "sycl", "musa")

FORCE_ENV = "MAESTRO_LLAMA_CPU"  # a variant name: skip the check and use it (the user's escape hatch)
# Fault injection for the fallback test: the check child of this variant kills itself with SIGILL.
CRASH_ENV = "MAESTRO_INJECT_CHECK_CRASH"
CHECK_TIMEOUT_S = 300.0

# ~300 tokens of plain prose: long enough that llama.cpp takes the batched matmul path (where the
# AMX kernels sat) rather than the one-token vector path.
_CHECK_TEXT = " ".join([
    "Maestro checks that this computer can run the language model before it trusts it with a request.",
    "It reads a few paragraphs like this one in a single batch, the way a long planning prompt is read,",
    "and then writes a handful of words. If the processor or the operating system does not support one",
    "of the instructions the chosen build uses, the check process stops with an error signal instead of",
    "the application, and the next build down is tried.",
] * 4)


@dataclass
class Attempt:
    variant: str
    ok: bool
    why: str = ""
    seconds: float = 0.0
    prompt_tokens: int = 0


@dataclass
class Choice:
    """The CPU backend in use and how it was chosen (shown in the status bar and --selftest)."""

    variant: str | None  # None: llama.cpp's own (no variant files, or a non-CPU build)
    how: str  # checked | cached | forced | unchecked | builtin
    attempts: list[Attempt] = field(default_factory=list)
    available: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # variant -> why the OS rules it out

    def describe(self) -> str:
        if self.variant is None:
            return "llama.cpp CPU backend: built in"
        text = f"llama.cpp CPU backend: {self.variant}"
        crashed = [a for a in self.attempts if not a.ok]
        if crashed:
            text += " (" + "; ".join(f"{a.variant} failed the start-up check: {a.why}" for a in crashed) + ")"
        elif self.how == "forced":
            text += f" (forced by {FORCE_ENV})"
        elif self.how == "unchecked":
            text += " (not yet checked: no model to check with)"
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "description": self.describe()}


def lib_dir() -> Path | None:
    """llama_cpp/lib of the installed package (or the bundle), without importing llama_cpp."""
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return path if path.is_dir() else None


def _so(name: str) -> str:
    return f"ggml-{name}.dll" if os.name == "nt" else f"libggml-{name}.so"


def variants_in(folder: Path | None) -> list[str]:
    """CPU variants present in the build, best first."""
    if folder is None:
        return []
    table = ARM_VARIANTS if platform.machine().lower() in ("aarch64", "arm64") else X86_VARIANTS
    return [v for v in reversed(table) if (folder / _so(f"cpu-{v}")).is_file()]


def cpu_flags() -> set[str]:
    """Features the kernel reports (and so enabled): x86 'flags', arm64 'Features'."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def amx_permitted() -> bool:
    """Whether this process may use AMX tiles: Linux grants XTILEDATA per process on request."""
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        arch_prctl, req_xcomp_perm, xfeature_xtiledata = 158, 0x1023, 18
        return libc.syscall(arch_prctl, req_xcomp_perm, xfeature_xtiledata) == 0
    except (OSError, AttributeError):
        return False


def os_allows(variant: str, flags: set[str]) -> str | None:
    """None when the OS reports every feature the variant needs, else why not."""
    need = {**X86_VARIANTS, **ARM_VARIANTS}.get(variant)
    if need is None:
        return "unknown variant"
    if not flags and need:
        return "CPU features cannot be read"
    missing = [f for f in need if f not in flags]
    if missing:
        return "the OS does not report " + ", ".join(missing)
    if "amx_tile" in need and not amx_permitted():
        return "the kernel does not grant AMX tile state"
    return None


def _signature(folder: Path, flags: set[str]) -> str:
    """Build + CPU: the variant files (names, sizes, times) and the CPU's model and features."""
    h = hashlib.sha256()
    for p in sorted(folder.glob(_so("*"))):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}\n".encode())
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("model name", "CPU part")):
                model = line
                break
    except OSError:
        pass
    h.update(f"{platform.machine()}|{model}|{' '.join(sorted(flags))}".encode())
    return h.hexdigest()[:20]


def _cache_path() -> Path:
    """Per user, not per models folder: the verdict is about the build and the CPU."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("maestro", appauthor=False)) / "llama-cpu.json"


def _read_cache(signature: str) -> dict | None:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = data.get(signature) if isinstance(data, dict) else None
    return entry if isinstance(entry, dict) and entry.get("variant") else None


def _write_cache(signature: str, choice: Choice) -> None:
    path = _cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    data[signature] = {"variant": choice.variant, "attempts": [asdict(a) for a in choice.attempts],
                       "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a full disk costs one more check next start, nothing else
        tmp.unlink(missing_ok=True)


def signal_words(code: int | None) -> str:
    """A child's exit code in plain words: -4 -> 'SIGILL (illegal instruction)'."""
    if code is None:
        return "still running"
    if code >= 0:
        return f"exit status {code}"
    try:
        sig = signal.Signals(-code)
    except ValueError:
        return f"signal {-code}"
    words = {signal.SIGILL: "illegal instruction: the CPU or OS does not support an instruction it used",
             signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
             signal.SIGKILL: "killed (out of memory, or stopped by force)", signal.SIGABRT: "aborted",
             signal.SIGFPE: "arithmetic error", signal.SIGTERM: "terminated"}.get(sig, signal.strsignal(sig) or "")
    return f"{sig.name} ({words})" if words else sig.name


# ------------------------------------------------------------------------------ the check child
def _load_into_process(folder: Path, variant: str) -> None:
    """Register the chosen CPU backend (and any GPU backends of the build) with ggml."""
    import llama_cpp  # noqa: F401 - loads libllama/libggml, which export ggml_backend_load

    # Wheels hold copies, not symlinks: the registry that matters is in the copy libllama links
    # (its soname, libggml.so.0), not in libggml.so beside it.
    names = ["ggml.dll"] if os.name == "nt" else ["libggml.so.0", "libggml.so"]
    ggml = ctypes.CDLL(str(next((folder / n for n in names if (folder / n).is_file()), folder / names[-1])))
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    for name in OTHER_BACKENDS:
        path = folder / _so(name)
        if path.is_file():
            ggml.ggml_backend_load(str(path).encode())
    if not ggml.ggml_backend_load(str(folder / _so(f"cpu-{variant}")).encode()):
        raise RuntimeError(f"ggml could not load the {variant} CPU backend")


def check_child(folder: str, variant: str, model_path: str, conn) -> None:  # noqa: ANN001 - a Connection
    """Run in a fresh process: load `variant`, read a ~300-token prompt in one batch, write a few tokens."""
    if os.environ.get(CRASH_ENV) == variant:
        os.kill(os.getpid(), signal.SIGILL)
    t0 = time.monotonic()
    _load_into_process(Path(folder), variant)
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, n_ctx=1024, n_batch=512, n_threads=2, verbose=False)
    tokens = llm.tokenize(_CHECK_TEXT.encode())
    llm.create_completion(tokens, max_tokens=4, temperature=0.0)
    conn.send({"ok": True, "prompt_tokens": len(tokens), "seconds": time.monotonic() - t0})
    conn.close()


def run_check(folder: Path, variant: str, model_path: Path, timeout: float = CHECK_TIMEOUT_S) -> Attempt:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=check_child, args=(str(folder), variant, str(model_path), child),
                       name=f"maestro-llama-check-{variant}", daemon=True)
    t0 = time.monotonic()
    proc.start()
    child.close()
    report: dict = {}
    try:
        if parent.poll(timeout):
            report = parent.recv()
    except (EOFError, OSError):
        pass
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)
        return Attempt(variant, False, f"no answer in {timeout:.0f} s", time.monotonic() - t0)
    seconds = time.monotonic() - t0
    if report.get("ok") and proc.exitcode == 0:
        return Attempt(variant, True, "", seconds, int(report.get("prompt_tokens", 0)))
    return Attempt(variant, False, signal_words(proc.exitcode) if proc.exitcode else "it reported no result",
                   seconds)


# ------------------------------------------------------------------------------ choosing
_lock = threading.Lock()
_active: Choice | None = None


def choose(model_path: Path | None, folder: Path | None = None) -> Choice:
    """The best variant this machine runs: cached verdict, or checked now in child processes."""
    folder = folder if folder is not None else lib_dir()
    available = variants_in(folder)
    if folder is None or not available:
        return Choice(None, "builtin")
    flags = cpu_flags()
    skipped = {v: why for v in available if (why := os_allows(v, flags))}
    candidates = [v for v in available if v not in skipped]
    forced = os.environ.get(FORCE_ENV, "").strip()
    if forced:
        if forced not in available:
            raise RuntimeError(f"{FORCE_ENV}={forced} is not in this build (it has {', '.join(available)})")
        return Choice(forced, "forced", available=available, skipped=skipped)
    if not candidates:  # the baseline variant needs nothing; only a broken build ends here
        raise RuntimeError("no llama.cpp CPU backend of this build can run on this CPU")
    signature = _signature(folder, flags)
    cached = _read_cache(signature)
    if cached and cached["variant"] in candidates:
        attempts = [Attempt(**a) for a in cached.get("attempts") or [] if isinstance(a, dict)]
        return Choice(cached["variant"], "cached", attempts, available, skipped)
    if model_path is None or not Path(model_path).is_file():
        return Choice(candidates[0], "unchecked", available=available, skipped=skipped)
    attempts: list[Attempt] = []
    for variant in candidates:
        attempt = run_check(folder, variant, Path(model_path))
        attempts.append(attempt)
        log.info("llama.cpp %s check: %s", variant, "ok" if attempt.ok else attempt.why)
        if attempt.ok:
            choice = Choice(variant, "checked", attempts, available, skipped)
            _write_cache(signature, choice)
            return choice
    raise RuntimeError("every llama.cpp CPU backend failed the start-up check: "
                       + "; ".join(f"{a.variant}: {a.why}" for a in attempts))


def activate(model_path: Path | None) -> Choice:
    """Choose (once per process) and register the CPU backend before llama.cpp is first used."""
    global _active
    with _lock:
        if _active is not None:
            return _active
        folder = lib_dir()
        choice = choose(model_path, folder)
        if choice.variant is not None and folder is not None:
            _load_into_process(folder, choice.variant)
        _active = choice
        return choice


def env_for_llama_process(model_path: Path | None) -> dict[str, str]:
    """Environment that makes another llama.cpp process (`python -m llama_cpp.server`) load the same
    checked CPU build: with GGML_BACKEND_DL, llama.cpp alone only looks next to the executable."""
    choice = activate(model_path)
    folder = lib_dir()
    if choice.variant is None or folder is None:
        return {}
    return {"GGML_BACKEND_PATH": str(folder / _so(f"cpu-{choice.variant}"))}
