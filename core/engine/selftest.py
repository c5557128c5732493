"""`maestro --selftest`: a headless check that an install (the source tree or the bundle) can plan.

It prints the versions of the libraries that matter, the device choices, where models and data
live, then loads the controller from the models folder and plans one request. Exit codes:
0 a valid plan with at least one task, 1 no valid plan, 2 the controller is missing or unloadable."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import platform
import sys
import time
from typing import Any

DEFAULT_REQUEST = "Summarize this sentence and then translate the summary into French: " \
    "the meeting moved to Thursday because the projector is broken."

# (label, import name, distribution name) shown in the versions block.
LIBRARIES = [
    ("llama-cpp-python", "llama_cpp", "llama_cpp_python"),
    ("onnxruntime", "onnxruntime", "onnxruntime"),
    ("ctranslate2", "ctranslate2", "ctranslate2"),
    ("faster-whisper", "faster_whisper", "faster-whisper"),
    ("torch", "torch", "torch"),
    ("transformers", "transformers", "transformers"),
    ("diffusers", "diffusers", "diffusers"),
    ("spacy", "spacy", "spacy"),
    ("PySide6", "PySide6", "PySide6-Essentials"),
    ("huggingface_hub", "huggingface_hub", "huggingface_hub"),
    ("numpy", "numpy", "numpy"),
]

EXIT_OK, EXIT_NO_PLAN, EXIT_NO_CONTROLLER = 0, 1, 2


def library_version(module: str, dist: str) -> str | None:
    """The installed version, or None when the module cannot be imported here (nothing heavy is
    imported unless the bundle carries no package metadata for it)."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return str(getattr(importlib.import_module(module), "__version__", "installed"))
    except Exception as e:  # noqa: BLE001 - a broken optional library is reported, not raised
        return f"broken ({type(e).__name__}: {e})"


def versions() -> dict[str, Any]:
    from core.config import frozen

    out: dict[str, Any] = {"maestro": _maestro_version(), "python": platform.python_version(),
                           "platform": platform.platform(), "frozen": frozen.is_frozen()}
    out["libraries"] = {label: library_version(mod, dist) for label, mod, dist in LIBRARIES}
    return out


def _maestro_version() -> str:
    try:
        return importlib.metadata.version("maestro")
    except importlib.metadata.PackageNotFoundError:
        pass
    import tomllib

    from core.config.paths import REPO_ROOT

    try:  # the source tree, and the bundle (the spec copies pyproject.toml into it)
        return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def llama_cpu_backend(controller: str) -> dict[str, Any]:
    """The llama.cpp CPU build this machine runs (health-checked once per build + CPU)."""
    from core.errors import ControllerError
    from core.llm import backend as llama_backend
    from core.llm.controllers import controller_model_path

    try:
        path = controller_model_path(controller)
    except ControllerError:
        path = None  # no model to check with: the choice says it is unchecked
    try:
        return llama_backend.activate(path).to_dict()
    except (RuntimeError, OSError) as e:
        return {"variant": None, "error": str(e), "description": f"llama.cpp CPU backend: none runs here ({e})"}


def devices(preference: str, controller: str = "") -> dict[str, Any]:
    from core.config import hardware

    out: dict[str, Any] = {"cpu_count": hardware.detect().cpu_count,
                           "torch": hardware.choose_device(preference).to_dict(),
                           "ctranslate2": hardware.ctranslate2_device(preference).to_dict()}
    try:
        out["ort_providers"] = hardware.ort_providers(preference)
    except ImportError:
        out["ort_providers"] = []
    try:
        import llama_cpp

        if controller:  # the CPU backend is registered before llama.cpp's first call
            out["llama_cpu_backend"] = llama_cpu_backend(controller)
        out["llama_gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # noqa: BLE001 - reported below as a missing controller runtime
        out["llama_gpu_offload"] = None
    return out


def locations() -> dict[str, str]:
    import os

    from core.config import paths, settings

    return {"models": str(paths.models_cache()), "data": str(paths.data_dir()),
            "settings": str(settings.settings_path()), "prompts": str(paths.PROMPTS_DIR),
            "extras": os.environ.get("MAESTRO_EXTRAS_ACTIVE", "")}


def plan_once(controller_name: str | None, request: str) -> tuple[int, dict[str, Any]]:
    """Load the controller as the app would (settings, models folder) and plan `request`."""
    from core.config.settings import load_settings
    from core.engine.pipeline import Engine
    from core.errors import ControllerError

    settings = load_settings()
    if controller_name:
        settings.controller, settings.endpoint_url = controller_name, ""
    engine = Engine(settings)
    t0 = time.monotonic()
    try:
        engine.warm_up()
    except ControllerError as e:
        return EXIT_NO_CONTROLLER, {"error": f"controller not available: {e}"}
    load_s = time.monotonic() - t0
    known = sorted(engine.planner.known_tasks)
    outcome = engine.planner.plan(request)
    info: dict[str, Any] = {"controller": engine.controller.name,
                            "controller_device": getattr(engine.controller, "device", ""),
                            "load_s": round(load_s, 2), "runnable_tasks": known, "request": request,
                            "plan": outcome.plan.to_dict(), "plan_s": round(outcome.seconds, 2),
                            "repaired": outcome.repaired, "error": outcome.error}
    if outcome.error:
        return EXIT_NO_PLAN, info
    if not outcome.plan.tasks:
        info["error"] = "the controller answered with no tasks for a request that needs some"
        return EXIT_NO_PLAN, info
    return EXIT_OK, info


def _print_text(report: dict[str, Any]) -> None:
    v = report["versions"]
    print(f"Maestro {v['maestro']} on Python {v['python']} ({v['platform']}), "
          f"{'bundle' if v['frozen'] else 'source'}")
    for label, version in v["libraries"].items():
        print(f"  {label:16} {version or '-- not installed'}")
    d = report["devices"]
    print(f"device: torch {d['torch']['device']} ({d['torch']['why']}); "
          f"ctranslate2 {d['ctranslate2']['device']}/{d['ctranslate2']['dtype']}; "
          f"onnxruntime {', '.join(d['ort_providers']) or 'not installed'}; "
          f"llama.cpp GPU offload {d['llama_gpu_offload']}; {d['cpu_count']} CPU cores")
    if d.get("llama_cpu_backend"):
        print(d["llama_cpu_backend"]["description"])
    for key, value in report["locations"].items():
        print(f"{key:9} {value or '-'}")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maestro --selftest",
                                     description="Check this install: versions, device, controller, one plan.")
    parser.add_argument("--controller", help="controller model: pack name, .gguf path or hub:<repo>/<file>")
    parser.add_argument("--request", default=DEFAULT_REQUEST, help="the request to plan")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv or [])
    from core.config.settings import load_settings

    settings = load_settings()
    report: dict[str, Any] = {"versions": versions(),
                              "devices": devices(settings.device, args.controller or settings.controller),
                              "locations": locations()}
    if not args.json:  # say what we have before the slow part
        _print_text(report)
        sys.stdout.flush()
    code, report["plan"] = plan_once(args.controller, args.request)
    report["ok"] = code == EXIT_OK
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        if "controller" in report["plan"]:
            _print_plan(report)
    error = report["plan"].get("error")
    if error:
        print(f"selftest failed: {error}", file=sys.stderr)
        if code == EXIT_NO_CONTROLLER:
            print("Put the controller GGUF in the models folder: `maestro models install-packs` (with the "
                  "wheel packs installed in an extras folder), `maestro models get <repo>`, or point "
                  "MAESTRO_MODELS at a folder that has it. See packaging/README.md.", file=sys.stderr)
    else:  # stdout stays one JSON object under --json
        print("selftest ok", file=sys.stderr if args.json else sys.stdout)
    return code


def _print_plan(report: dict[str, Any]) -> None:
    p = report["plan"]
    print(f"controller {p['controller']} on {p['controller_device']} loaded in {p['load_s']} s; "
          f"runnable tasks: {', '.join(p['runnable_tasks'])}")
    print(f"request: {p['request']}")
    for t in p["plan"].get("tasks", []):
        dep = f" after {', '.join(map(str, t['dep']))}" if t["dep"] else ""
        print(f"  {t['id']}. {t['task']}{dep} {json.dumps(t['args'], ensure_ascii=False)}")
    print(f"planned in {p['plan_s']} s{' (repaired)' if p['repaired'] else ''}")
