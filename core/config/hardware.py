"""What this machine has (CPU, RAM, GPU) and which device / ONNX Runtime providers to use.

Every choice comes with a short "why" so the UI and the CLI can say what was picked and for
what reason. Functions that need torch / onnxruntime / ctranslate2 import them lazily."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Hardware:
    cpu_count: int
    ram_bytes: int
    ram_available_bytes: int


def detect() -> Hardware:
    pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    avail = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
    return Hardware(cpu_count=os.cpu_count() or 1, ram_bytes=pages * page,
                    ram_available_bytes=avail * page)


def usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def physical_cores(cpuinfo: str | None = None) -> int:
    """Physical cores this process can use: the thread count where llama.cpp generates fastest;
    0 when unknown.

    llama-cpp-python's default is half the logical CPUs, which guesses hyper-threading: on a
    machine without it (a 2-core VM) that leaves one core idle and halves generation speed.
    Linux: distinct (physical id, core id) pairs of /proc/cpuinfo. Elsewhere 0, and the caller
    keeps llama-cpp-python's guess (right for most Windows and Intel Mac machines)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    cores: set[tuple[str, str]] = set()
    for block in cpuinfo.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "core id" in fields:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return min(len(cores), usable_cpus()) if cores else 0


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # cpu | cuda | mps
    dtype: str  # float32 | float16 (half precision on GPUs: half the memory, faster)
    why: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _preference(preference: str | None) -> tuple[str, str]:
    """The wanted device and who asked for it: MAESTRO_DEVICE beats the setting beats auto."""
    forced = os.environ.get("MAESTRO_DEVICE", "").strip().lower()
    if forced:
        return forced, "MAESTRO_DEVICE"
    pref = (preference or "auto").strip().lower()
    return pref, "the device setting" if pref != "auto" else "auto"


def _torch_gpus() -> tuple[bool, str, bool]:
    """(cuda available, cuda device name, mps available) without failing when torch is absent."""
    try:
        import torch
    except ModuleNotFoundError as e:
        if e.name != "torch":  # torch is there but broken: the first error is the one that explains it
            logging.getLogger("maestro.hardware").warning("torch failed to import: %s", e)
        return False, "", False
    except ImportError as e:
        logging.getLogger("maestro.hardware").warning("torch failed to import: %s", e)
        return False, "", False
    cuda = bool(torch.cuda.is_available())
    name = torch.cuda.get_device_name(0) if cuda else ""
    mps_backend = getattr(torch.backends, "mps", None)
    mps = bool(mps_backend is not None and mps_backend.is_available())
    return cuda, name, mps


def choose_device(preference: str | None = "auto") -> DeviceChoice:
    """Pick the torch device for expert models. Imports torch; call it when a model is about to load."""
    pref, source = _preference(preference)
    if pref not in DEVICES:
        return DeviceChoice("cpu", "float32", f"unknown device '{pref}' from {source}; using the CPU")
    if pref == "cpu":  # asks nothing of torch (the planner's NumPy encoder runs without it)
        return DeviceChoice("cpu", "float32", f"CPU requested by {source}")
    cuda, cuda_name, mps = _torch_gpus()
    if pref == "cuda" and not cuda:
        return DeviceChoice("cpu", "float32", f"CUDA requested by {source} but no CUDA GPU is usable; using the CPU")
    if pref == "mps" and not mps:
        return DeviceChoice("cpu", "float32", f"MPS requested by {source} but it is not available; using the CPU")
    if pref in ("auto", "cuda") and cuda:
        why = f"CUDA GPU {cuda_name}" + (" found" if pref == "auto" else f" requested by {source}")
        return DeviceChoice("cuda", "float16", why)
    if pref in ("auto", "mps") and mps:
        return DeviceChoice("mps", "float16", "Apple GPU (MPS) " + ("found" if pref == "auto" else f"requested by {source}"))
    return DeviceChoice("cpu", "float32", "no GPU found")


@cache
def torch_dtype(choice: DeviceChoice) -> Any:
    import torch

    return torch.float16 if choice.dtype == "float16" else torch.float32


def ctranslate2_device(preference: str | None = "auto") -> DeviceChoice:
    """Device and compute type for CTranslate2 models (faster-whisper); needs no torch."""
    pref, source = _preference(preference)
    try:
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count()
    except Exception:  # noqa: BLE001 - a broken CUDA install must not stop CPU inference
        gpus = 0
    if pref in ("auto", "cuda") and gpus > 0:
        return DeviceChoice("cuda", "float16", f"{gpus} CUDA GPU(s) visible to CTranslate2")
    if pref == "cuda":
        return DeviceChoice("cpu", "int8", f"CUDA requested by {source} but CTranslate2 sees no GPU; CPU int8")
    # int8 on the CPU: about twice as fast as float32 for whisper with the same transcripts.
    return DeviceChoice("cpu", "int8", "CPU (int8)" + (f", requested by {source}" if pref == "cpu" else ""))


ORT_ORDER = ["CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider",
             "CPUExecutionProvider"]


def ort_providers(preference: str | None = "auto") -> list[str]:
    """ONNX Runtime providers in order of preference, limited to those installed.

    `preference` "cpu" keeps ONNX models on the CPU; "auto" takes the first accelerator present.
    MAESTRO_ORT_PROVIDERS (comma-separated provider names) overrides the order; names this
    onnxruntime build lacks are skipped, and the CPU is always the last resort."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    forced = [p.strip() for p in os.environ.get("MAESTRO_ORT_PROVIDERS", "").split(",") if p.strip()]
    if forced:
        chosen = [p for p in forced if p in available]
        return chosen + ([] if "CPUExecutionProvider" in chosen else ["CPUExecutionProvider"])
    pref, _ = _preference(preference)
    if pref == "cpu":
        return ["CPUExecutionProvider"]
    return [p for p in ORT_ORDER if p in available] or ["CPUExecutionProvider"]


def gpu_memory_bytes() -> int:
    """Total memory of CUDA device 0, or 0 when there is none."""
    cuda, _, _ = _torch_gpus()
    if not cuda:
        return 0
    import torch

    return int(torch.cuda.get_device_properties(0).total_memory)


def memory_budget(budget_gb: float = 0.0, device: str = "cpu") -> tuple[int, str]:
    """(bytes, why): how much memory warm expert models may hold before the pool evicts.

    An explicit setting wins; otherwise 80 % of the GPU's memory on CUDA, 70 % of RAM elsewhere."""
    env = os.environ.get("MAESTRO_MEMORY_BUDGET_GB")
    if env:
        try:
            return int(float(env) * 2**30), "MAESTRO_MEMORY_BUDGET_GB"
        except ValueError:
            pass
    if budget_gb and budget_gb > 0:
        return int(budget_gb * 2**30), "the memory budget setting"
    if device == "cuda":
        vram = gpu_memory_bytes()
        if vram:
            return int(vram * 0.8), "80 % of the GPU's memory"
    return int(detect().ram_bytes * 0.7), "70 % of RAM"


def summary(preference: str | None = "auto") -> dict[str, Any]:
    """Everything above in one dict, for `--json` outputs and the settings page."""
    hw = detect()
    choice = choose_device(preference)
    budget, budget_why = memory_budget(device=choice.device)
    try:
        providers = ort_providers(preference)
    except ImportError:
        providers = []
    return {"cpu_count": hw.cpu_count, "ram_bytes": hw.ram_bytes,
            "ram_available_bytes": hw.ram_available_bytes, "device": choice.to_dict(),
            "gpu_memory_bytes": gpu_memory_bytes(), "ort_providers": providers,
            "memory_budget_bytes": budget, "memory_budget_why": budget_why}


def run_preference(ctx_device: str, settings: dict[str, Any]) -> str:
    """The device preference for one task: an executor that set a GPU device wins, otherwise the
    user's `device` setting, otherwise "auto" (RunContext.device defaults to "cpu", which here
    means "nobody decided", so a GPU is still used when present unless the setting says cpu)."""
    if ctx_device and ctx_device != "cpu":
        return ctx_device
    return str(settings.get("device") or "auto")
