"""Which controller LLM this machine can afford, and getting it: the first-run welcome's logic.

The packaged Qwen2.5-Coder-1.5B is the default everywhere. A bigger Qwen2.5-Instruct GGUF (3B, 7B;
Q4_K_M) is recommended only where it fits in memory with room left for the experts, and where it
generates at a usable speed: on a GPU that llama.cpp can use, or on enough CPU cores. Speeds are
estimates scaled from the 1.5B's measured ~17 tokens/s on 2 cores (README), labelled "about".

No Qt and no torch here: the machine is read from /proc, os and nvidia-smi, so the welcome opens
at once. Downloads go through core.models.downloads (progress, resume, sha256)."""

from __future__ import annotations

import platform
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GB = 1_000_000_000
EXPERT_ROOM = 4 * GB  # RAM kept free beside the controller for expert models and the OS
BASE_TOKENS_S = 17.0  # the packaged 1.5B Q4_K_M on 2 physical cores, measured (README)
BASE_SIZE = 1_117_320_768  # that model's file size: generation speed scales with bytes read per token
USABLE_TOKENS_S = 12.0  # below this, a turn's plan and answer take noticeably longer than the 1.5B's


@dataclass(frozen=True)
class ControllerChoice:
    key: str
    label: str
    repo: str
    files: tuple[str, ...]  # the first is the file llama.cpp opens (the others are its split parts)
    size_bytes: int  # approximate download size, for the welcome (the Hub's metadata has the exact one)
    packaged: bool = False

    @property
    def setting(self) -> str:
        """The value of Settings.controller that selects this model."""
        return self.key if self.packaged else f"hub:{self.repo}/{self.files[0]}"


CHOICES: tuple[ControllerChoice, ...] = (
    ControllerChoice("qwen2.5-coder-1.5b", "Qwen2.5-Coder 1.5B (packaged)", "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                     ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",), BASE_SIZE, packaged=True),
    ControllerChoice("qwen2.5-3b", "Qwen2.5 3B Instruct", "Qwen/Qwen2.5-3B-Instruct-GGUF",
                     ("qwen2.5-3b-instruct-q4_k_m.gguf",), 2_100_000_000),
    ControllerChoice("qwen2.5-7b", "Qwen2.5 7B Instruct", "Qwen/Qwen2.5-7B-Instruct-GGUF",
                     ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
                      "qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf"), 4_680_000_000),
)


def choice(key: str) -> ControllerChoice:
    for c in CHOICES:
        if c.key == key:
            return c
    raise ValueError(f"unknown controller choice {key!r}; known: {', '.join(c.key for c in CHOICES)}")


def choice_for_setting(controller: str) -> ControllerChoice | None:
    return next((c for c in CHOICES if c.setting == controller), None)


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int  # physical cores (logical CPUs where unknown)
    threads: int  # logical CPUs
    ram_bytes: int
    ram_available_bytes: int
    disk_free_bytes: int  # where models are stored
    gpu: str = ""  # "" = none found
    vram_bytes: int = 0
    gpu_offload: bool = False  # llama.cpp here was built with a GPU backend
    unified_memory: bool = False  # Apple silicon: the GPU uses RAM

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Verdict:
    choice: ControllerChoice
    fits: bool  # enough memory and disk
    tokens_s: float  # estimated generation speed here
    why: str  # one line for the welcome


@dataclass
class Recommendation:
    best: ControllerChoice
    verdicts: list[Verdict] = field(default_factory=list)
    why: str = ""

    def verdict(self, key: str) -> Verdict:
        return next(v for v in self.verdicts if v.choice.key == key)


def _gpu_speedup(m: Machine, c: ControllerChoice) -> bool:
    """The model can live in GPU memory that llama.cpp uses."""
    if not m.gpu_offload:
        return False
    if m.unified_memory:
        return m.ram_bytes >= c.size_bytes + EXPERT_ROOM
    return m.vram_bytes >= c.size_bytes + GB  # + KV cache and compute buffers


def assess(m: Machine, c: ControllerChoice) -> Verdict:
    cores = max(1, m.cores)
    on_gpu = _gpu_speedup(m, c)
    # CPU generation is memory-bound: tokens/s ~ cores (up to ~8) / bytes per token.
    cpu_speed = BASE_TOKENS_S * min(cores, 8) / 2 * BASE_SIZE / c.size_bytes
    speed = max(cpu_speed, 40.0) if on_gpu else cpu_speed
    need_ram = c.size_bytes + EXPERT_ROOM
    where = "on the GPU" if on_gpu else f"on {cores} CPU core{'s' if cores != 1 else ''}"
    if not on_gpu and m.ram_bytes < need_ram:
        return Verdict(c, False, speed, f"not enough memory: needs about {need_ram / GB:.0f} GB of RAM, "
                                        f"this machine has {m.ram_bytes / GB:.0f} GB")
    if not c.packaged and m.disk_free_bytes < c.size_bytes + GB:
        return Verdict(c, False, speed, f"not enough disk space: {c.size_bytes / GB:.1f} GB to download, "
                                        f"{m.disk_free_bytes / GB:.1f} GB free")
    if c.packaged:
        return Verdict(c, True, speed, f"installed; about {speed:.0f} tokens/s {where}")
    if speed < USABLE_TOKENS_S:
        return Verdict(c, True, speed, f"fits, but slow here: about {speed:.0f} tokens/s {where} "
                                       f"({c.size_bytes / GB:.1f} GB download)")
    return Verdict(c, True, speed, f"fits: about {speed:.0f} tokens/s {where} ({c.size_bytes / GB:.1f} GB download)")


def recommend(m: Machine) -> Recommendation:
    """The biggest model that fits and runs at a usable speed; the packaged 1.5B otherwise."""
    verdicts = [assess(m, c) for c in CHOICES]
    good = [v for v in verdicts if v.fits and (v.choice.packaged or v.tokens_s >= USABLE_TOKENS_S)]
    best = max(good, key=lambda v: v.choice.size_bytes) if good else verdicts[0]
    if best.choice.packaged:
        bigger = [v for v in verdicts if not v.choice.packaged]
        slow = next((v for v in bigger if v.fits), None)
        reason = next((v.why for v in bigger if not v.fits), None) or (
            f"{slow.choice.label} would generate only about {slow.tokens_s:.0f} tokens/s here" if slow else "")
        why = "The packaged model is the right size for this machine" + (f" ({reason})." if reason else ".")
    else:
        why = f"{best.choice.label} fits this machine: {best.why}."
    return Recommendation(best.choice, verdicts, why)


# -- reading the machine (no torch) --------------------------------------------------------------

def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _nvidia() -> tuple[str, int]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return "", 0
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
        name, mib = out.splitlines()[0].rsplit(",", 1)
        return name.strip(), int(float(mib)) * 1024 * 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return "", 0


def _llama_gpu_backend() -> bool:
    """A GPU backend library next to llama.cpp's CPU ones (a file check: no import of llama_cpp)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin:
        return False
    lib = Path(spec.origin).parent / "lib"
    names = ("ggml-cuda", "ggml-metal", "ggml-vulkan", "ggml-hip")
    return lib.is_dir() and any(any(n in p.name for n in names) for p in lib.iterdir())


def detect_machine(models_dir: Path | None = None) -> Machine:
    from core.config import hardware
    from core.config.paths import hub_cache

    hw = hardware.detect()
    folder = Path(models_dir or hub_cache())
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = 0
    gpu, vram = _nvidia()
    apple = platform.system() == "Darwin" and platform.machine() == "arm64"
    if apple:
        gpu = gpu or "Apple GPU (unified memory)"
    return Machine(cpu=_cpu_name(), cores=hardware.physical_cores() or hw.cpu_count, threads=hw.cpu_count,
                   ram_bytes=hw.ram_bytes, ram_available_bytes=hw.ram_available_bytes, disk_free_bytes=free,
                   gpu=gpu, vram_bytes=vram, gpu_offload=(bool(gpu) or apple) and _llama_gpu_backend(),
                   unified_memory=apple)


def offline_tasks(settings=None) -> tuple[list[str], list[tuple[str, str]]]:
    """(task types that can run now, [(task type, why not)]): `python main.py tasks --json`'s answer."""
    from core.selection import selector
    from core.tasks import TASKS

    ready, missing = [], []
    for name in TASKS:
        row = selector.task_status(name, settings)
        if row["runnable"]:
            ready.append(name)
        else:
            missing.append((name, str(row["why_not"] or "")))
    return ready, missing


def download_controller(c: ControllerChoice, *, progress=None, cancel: threading.Event | None = None,
                        settings=None) -> str:
    """Fetch a controller's GGUF file(s) into the models cache (resumable, sha256-checked) and return
    the Settings.controller value that uses it. The packaged model needs no download."""
    if c.packaged:
        return c.setting
    from core.llm.controllers import controller_model_path
    from core.models import downloads

    downloads.download(c.repo, list(c.files), progress=progress, cancel=cancel, settings=settings)
    path = controller_model_path(c.setting)
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise downloads.DownloadError(f"{path.name} is not a GGUF file")
    return c.setting
