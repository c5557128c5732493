"""First-call and warm timings of the task types added by issue 15, on this machine's CPU.

Real models where they exist here: canny / line maps (OpenCV), pose skeletons (MediaPipe's packaged
pose model), NSNet2 denoising (ONNX from its wheel), and tabular classification with a real iris
model trained here (skops, served by the loopback Hub; a CSV and an OCR'd table image). The Hub-only
tasks run TINY RANDOM models of their real architectures (tests/tiny_models*.py), so their numbers
are Maestro's and the pipelines' overhead, not a real model's speed ("kind": "tiny-random"). HED runs
at its real size with random weights ("full-size-random": the compute is the real model's).

first_s: the first call in this process (imports, model load, inference); warm_s: median of the
next `--runs` calls (model warm in the pool). Prints one JSON object (last stdout line):

    python benchmarks/bench_new_tasks.py [--runs 3]
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


def _time(fn, runs: int) -> dict:
    t = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t
    warm = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    return {"first_s": round(first, 3), "warm_s": round(statistics.median(warm), 3) if warm else None,
            "output": out.text[:120]}


def _media(folder: Path) -> dict[str, Path]:
    import numpy as np
    import soundfile as sf
    from PIL import Image
    from skimage import data

    from core.execution.runners.media import load_audio
    from tests.runner_support import speak

    out = {}
    for name in ("astronaut", "camera"):
        out[name] = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(out[name])
    speech = load_audio({"audio": speak("the weather today is nice and sunny, said John in London",
                                        folder / "speech.wav")}, "audio", 16_000)
    noise = np.random.default_rng(0).standard_normal(len(speech)).astype(np.float32)
    noise *= np.sqrt(np.mean(speech ** 2) / np.mean(noise ** 2)) / 10 ** (5 / 20)
    out["noisy"] = folder / "noisy.wav"
    sf.write(out["noisy"], speech + noise, 16_000)
    out["small"] = folder / "small.png"
    Image.fromarray(data.astronaut()).resize((96, 64)).save(out["small"])
    from PIL import ImageDraw

    edges = Image.new("RGB", (96, 64), "black")  # a condition map, so generation is timed alone
    ImageDraw.Draw(edges).rectangle((12, 10, 84, 54), outline="white", width=2)
    out["map"] = folder / "map.png"
    edges.save(out["map"])
    return out


def _iris(folder: Path) -> tuple[Path, Path, Path]:
    """A logistic regression on scikit-learn's iris data (skops), the held-out rows as a CSV and as an image."""
    import numpy as np
    import skops.io as sio
    from PIL import Image, ImageDraw, ImageFont
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    iris = load_iris()
    held = [0, 1, 50, 51, 100, 101]
    keep = [i for i in range(len(iris.target)) if i not in held]
    model = LogisticRegression(max_iter=500).fit(iris.data[keep], np.asarray(iris.target_names)[iris.target[keep]])
    repo = folder / "iris"
    repo.mkdir()
    sio.dump(model, repo / "model.skops")
    cols = list(iris.feature_names)
    (repo / "config.json").write_text(json.dumps({"sklearn": {"columns": cols, "model": {"file": "model.skops"}}}))
    rows = [cols] + [[f"{v:.1f}" for v in iris.data[i]] for i in held]
    csv = folder / "flowers.csv"
    csv.write_text("\n".join(",".join(r) for r in rows) + "\n")
    img = Image.new("RGB", (1400, 60 + 56 * len(rows)), "white")
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            draw.text((30 + 340 * c, 30 + 56 * r), cell, fill="black", font=ImageFont.load_default(size=28))
    png = folder / "flowers.png"
    img.save(png)
    return repo, csv, png


def _hed(folder: Path) -> Path:
    """ControlNet's HED at its real size (fp16, as shipped) with random weights: the compute is real,
    the map is noise."""
    import torch

    from core.execution.runners.hed import build_hed

    out = folder / "annotators"
    out.mkdir()
    torch.save({k: v.half() for k, v in build_hed().state_dict().items()}, out / "ControlNetHED.pth")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from hubserver import HubServer

    with tempfile.TemporaryDirectory(prefix="maestro-bench-tasks-") as folder, HubServer() as server:
        tmp = Path(folder)
        os.environ.update(HF_ENDPOINT=server.url, MAESTRO_MODELS=str(tmp / "models"),
                          HF_HUB_CACHE=str(tmp / "models" / "hub"), HF_HUB_OFFLINE="0")
        from huggingface_hub import constants

        constants.ENDPOINT = server.url
        constants.HUGGINGFACE_CO_URL_TEMPLATE = server.url + "/{repo_id}/resolve/{revision}/{filename}"
        constants.HF_HUB_CACHE = str(tmp / "models" / "hub")
        constants.HF_HUB_OFFLINE = False
        report = run_all(server, tmp, args.runs)
    print(json.dumps(report))


def run_all(server, tmp: Path, runs: int) -> dict:
    from core.execution.runners import get_runner
    from core.models import catalog, hub
    from core.models.entry import ModelEntry
    from tests.runner_support import make_ctx
    from tests.tiny_models import segformer, tiny_stable_diffusion
    from tests.tiny_models_more import clip, controlnet, text_to_video

    media = _media(tmp)
    repo, csv, png = _iris(tmp)
    for name, build in (("tiny-clip", clip), ("tiny-seg", segformer), ("tiny-sd", tiny_stable_diffusion),
                        ("tiny-controlnet", controlnet), ("tiny-t2v", text_to_video)):
        server.add_folder(f"bench/{name}", build(tmp / "build" / name))
        hub.get_model(f"bench/{name}")
    server.add_folder("bench/iris-skops", repo)
    hub.get_model("bench/iris-skops")
    hed = _hed(tmp)
    server.add_folder("bench/annotators", hed)
    hub.get_model("bench/annotators", files=["ControlNetHED.pth"])

    def job(entry: ModelEntry, inputs: dict):
        def call():
            ctx = make_ctx(entry, tmp / "session")
            ctx.settings["allow_pickle_models"] = ["bench/annotators"]
            return get_runner(entry.runtime).run(ctx, inputs)
        return call

    d = catalog.default_model
    cases = [  # (task, kind, entry, inputs)
        ("canny-control", "real", d("canny-control"), {"image": media["astronaut"]}),
        ("mlsd-control", "real", d("mlsd-control"), {"image": media["camera"]}),
        ("openpose-control", "real", d("openpose-control"), {"image": media["astronaut"]}),
        ("audio-to-audio", "real", d("audio-to-audio"), {"audio": media["noisy"]}),
        ("tabular-classification (csv)", "real",
         ModelEntry("bench/iris-skops", "tabular-classification", "sklearn"), {"image": csv}),
        ("tabular-classification (table image, OCR)", "real",
         ModelEntry("bench/iris-skops", "tabular-classification", "sklearn"), {"image": png}),
        ("hed-control", "full-size-random",
         ModelEntry("bench/annotators", "hed-control", "hed", files=["ControlNetHED.pth"]), {"image": media["astronaut"]}),
        ("scribble-control", "full-size-random",
         ModelEntry("bench/annotators", "scribble-control", "hed", files=["ControlNetHED.pth"]),
         {"image": media["astronaut"]}),
        ("zero-shot-image-classification", "tiny-random",
         ModelEntry("bench/tiny-clip", "zero-shot-image-classification", "transformers"),
         {"image": media["small"], "labels": "an astronaut, a cat, a cup of coffee"}),
        ("seg-control", "tiny-random", ModelEntry("bench/tiny-seg", "seg-control", "transformers"),
         {"image": media["small"]}),
        ("canny-text-to-image (same runner for mlsd/openpose/depth/seg)", "tiny-random",
         ModelEntry("bench/tiny-controlnet", "canny-text-to-image", "controlnet",
                    options={"base": "bench/tiny-sd", "steps": 2, "size": 32, "guidance_scale": 1.0, "seed": 1}),
         {"image": media["map"], "text": "a watercolour painting"}),
        ("text-to-video", "tiny-random",
         ModelEntry("bench/tiny-t2v", "text-to-video", "diffusers-video",
                    options={"frames": 4, "steps": 2, "size": 32, "fps": 4, "guidance_scale": 1.0, "seed": 1}),
         {"text": "a cat walking on the beach"}),
    ]
    tasks = {}
    for task, kind, entry, inputs in cases:
        tasks[task] = {"model": entry.id, "kind": kind, **_time(job(entry, inputs), runs)}
    return {"cpus": os.cpu_count(), "warm_runs": runs, "tasks": tasks}


if __name__ == "__main__":
    main()
