"""Model-stage costs: catalog load, selection per task (no LLM), runnable-task scan, pack no-op,
and Hub download throughput / resume over the loopback Hub server.

Prints one JSON object (last stdout line):

    python benchmarks/bench_models.py [--runs 20] [--download-mb 64]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _p50(xs: list[float]) -> float:
    return round(statistics.median(xs), 6)


def bench_selection(runs: int) -> dict:
    from core.config.settings import Settings
    from core.models import catalog
    from core.plan import Task
    from core.selection import selector
    from core.tasks import TASKS

    t0 = time.perf_counter()
    catalog._hub_facts.cache_clear()
    n_models = len(catalog.all_models())
    load_s = time.perf_counter() - t0
    settings = Settings()
    per_task: dict[str, float] = {}
    for name in TASKS:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            try:
                selector.select(Task(1, name, [], {}), "benchmark request", settings=settings)
            except selector.NoModelError:
                pass
            times.append(time.perf_counter() - t)
        per_task[name] = _p50(times)
    scans = []
    for _ in range(max(3, runs // 4)):
        t = time.perf_counter()
        selector.runnable_tasks(settings)
        scans.append(time.perf_counter() - t)
    return {"catalog_models": n_models, "catalog_load_s": round(load_s, 4),
            "select_p50_s_max_over_tasks": max(per_task.values()),
            "select_p50_s_median_over_tasks": _p50(list(per_task.values())),
            "runnable_tasks_p50_s": _p50(scans)}


def bench_packs() -> dict:
    from core.models import hub

    t = time.perf_counter()
    results = hub.install_packs()
    return {"install_packs_noop_s": round(time.perf_counter() - t, 4),
            "packs_present": sum(r.status == "present" for r in results), "packs": len(results)}


def bench_download(mb: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from hubserver import HubServer

    from core.models import downloads

    payload = os.urandom(mb * 2**20)  # random bytes: throughput and resume mechanics only
    with tempfile.TemporaryDirectory() as tmp, HubServer() as server:
        os.environ.update(HF_ENDPOINT=server.url, MAESTRO_MODELS=tmp, HF_HUB_OFFLINE="0")
        server.add_repo("bench/blob", {"model.safetensors": payload, "config.json": "{}"})
        t = time.perf_counter()
        downloads.download("bench/blob")
        full_s = time.perf_counter() - t
        downloads.remove("bench/blob")
        server.cut_after["model.safetensors"] = len(payload) // 2
        try:
            downloads.download("bench/blob")
        except downloads.DownloadError:
            pass
        t = time.perf_counter()
        downloads.download("bench/blob")
        resume_s = time.perf_counter() - t
        served = [r for r in server.ranges if r[0].endswith("model.safetensors")]
    return {"download_mb": mb, "download_s": round(full_s, 3), "download_mb_per_s": round(mb / full_s, 1),
            "resume_second_half_s": round(resume_s, 3), "resume_range": served[-1][1] if served else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--download-mb", type=int, default=64)
    args = ap.parse_args()
    out = {**bench_selection(args.runs), **bench_packs(), **bench_download(args.download_mb)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
