"""Model pool: the first request pays for loading a model, later ones reuse it warm.

For each packaged expert, runs the same task three times in one process through its real runner
and reports the first call (cold: load + inference), the median of the next calls (warm), how
many times the pool loaded the model, and the chosen device. Prints one JSON object (last line):

    python benchmarks/bench_pool.py [--runs 3] [--only image-classification,...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _media(folder: Path) -> dict[str, Path]:
    from PIL import Image, ImageDraw, ImageFont
    from skimage import data

    photo = folder / "cat.png"
    Image.fromarray(data.chelsea()).save(photo)
    doc = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(doc).text((40, 60), "Invoice No. 4521", fill="black", font=ImageFont.load_default(size=48))
    doc_path = folder / "doc.png"
    doc.save(doc_path)
    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(speech), "Please call me tomorrow morning."], check=True)
    return {"photo": photo, "doc": doc_path, "speech": speech}


def _inputs(task: str, media: dict[str, Path]) -> dict:
    return {
        "image-classification": {"image": media["photo"]},
        "optical-character-recognition": {"image": media["doc"]},
        "automatic-speech-recognition": {"audio": media["speech"]},
        "sentence-similarity": {"text": "A man is riding a horse.", "text2": "Someone rides a horse."},
        "text-to-speech": {"text": "The animal in this photo is a cat."},
        "token-classification": {"text": "Tim Cook said Apple will open an office in Berlin."},
        "text-classification": {"text": "The battery died after an hour. Awful!"},
    }[task]


def bench(task: str, runs: int, media: dict[str, Path], session: Path) -> dict:
    from core.execution.runners import get_runner
    from core.execution.runners.base import RunContext
    from core.models import known_models
    from core.models.pool import default_pool

    entry = known_models.default_for(task)
    runner = get_runner(entry.runtime)
    loads_before = default_pool().loads
    times, loaded = [], []
    for i in range(runs):
        ctx = RunContext(task_id=i, task=task, model=entry, artifacts_dir=session)
        t0 = time.perf_counter()
        out = runner.run(ctx, _inputs(task, media))
        times.append(time.perf_counter() - t0)
        loaded.append(bool(out.data.get("model_loaded")))
    return {"model": entry.id, "runtime": entry.runtime, "first_s": round(times[0], 4),
            "warm_p50_s": round(statistics.median(times[1:]), 4) if runs > 1 else None,
            "speedup": round(times[0] / statistics.median(times[1:]), 1) if runs > 1 else None,
            "pool_loads": default_pool().loads - loads_before, "loaded_per_call": loaded,
            "device": out.data.get("device") or out.data.get("provider")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    from core.config import hardware

    tasks = ["image-classification", "optical-character-recognition", "automatic-speech-recognition",
             "sentence-similarity", "text-to-speech", "token-classification", "text-classification"]
    if args.only:
        tasks = [t for t in tasks if t in args.only.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        media = _media(folder)
        (folder / "artifacts").mkdir()
        results = {t: bench(t, max(1, args.runs), media, folder / "artifacts") for t in tasks}
    print(json.dumps({"bench": "pool", "runs": args.runs, "device": hardware.choose_device("auto").to_dict(),
                      "tasks": results}))


if __name__ == "__main__":
    main()
