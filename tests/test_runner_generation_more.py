"""Hub-only task types of issue 15 through the full path: tiny model -> loopback Hub -> HF cache -> runner.

THE WEIGHTS ARE RANDOM (tests/tiny_models.py, tests/tiny_models_more.py): labels, pictures and videos
are noise. Only the mechanics are asserted: download, safetensors load, the real pipeline code of each
architecture (CLIP, SegFormer, Stable Diffusion + ControlNet, ModelScope's UNet3D), progress per step,
the artifacts, and clear errors for bad inputs. The canny map fed to the ControlNet is real (OpenCV on
scikit-image's astronaut)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core.errors import Cancelled, RunnerError
from core.execution.runners import get_runner
from core.models import hub
from core.models.entry import ModelEntry
from tests.hubserver import hub_server  # noqa: F401 - fixture
from tests.runner_support import make_ctx
from tests.tiny_models import segformer, tiny_stable_diffusion
from tests.tiny_models_more import clip, controlnet, text_to_video

pytestmark = pytest.mark.slow
CN_OPTIONS = {"base": "maestro-test/tiny-sd", "steps": 2, "size": 32, "guidance_scale": 1.0, "seed": 3}
VIDEO_OPTIONS = {"frames": 4, "steps": 2, "size": 32, "fps": 4, "guidance_scale": 1.0, "seed": 5}


def _serve(hub_server, repo: str, builder, tmp_path):  # noqa: F811
    hub_server.add_folder(repo, builder(tmp_path / "build" / repo.split("/")[1]))
    snap = hub.get_model(repo)
    assert list(snap.rglob("*.safetensors"))
    return snap


@pytest.fixture
def photo(tmp_path):
    from PIL import Image
    from skimage import data

    path = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).resize((96, 64)).save(path)
    return path


def test_zero_shot_image_classification_ranks_the_given_labels(hub_server, tmp_path, photo):  # noqa: F811
    _serve(hub_server, "maestro-test/tiny-clip", clip, tmp_path)
    entry = ModelEntry("maestro-test/tiny-clip", "zero-shot-image-classification", "transformers")
    out = get_runner("transformers").run(make_ctx(entry, tmp_path / "s"),
                                         {"image": photo, "labels": "an astronaut, a cat; a cup of coffee, a cat"})
    labels = out.data["labels"]
    assert [x["label"] for x in labels] != [] and {x["label"] for x in labels} == {"an astronaut", "a cat",
                                                                                  "a cup of coffee"}
    assert sum(x["score"] for x in labels) == pytest.approx(1.0, abs=1e-3)
    assert labels == sorted(labels, key=lambda x: -x["score"])
    with pytest.raises(RunnerError, match="at least two candidate labels"):
        get_runner("transformers").run(make_ctx(entry, tmp_path / "s"), {"image": photo, "labels": "cat"})


def test_seg_control_paints_classes_in_the_ade20k_palette(hub_server, tmp_path, photo):  # noqa: F811
    from PIL import Image

    from core.execution.runners.draw import ade20k_palette

    _serve(hub_server, "maestro-test/tiny-seg", segformer, tmp_path)
    entry = ModelEntry("maestro-test/tiny-seg", "seg-control", "transformers")
    ctx = make_ctx(entry, tmp_path / "s")
    out = get_runner("transformers").run(ctx, {"image": photo})
    img = np.asarray(Image.open(out.file_of("image").path).convert("RGB"))
    assert img.shape == (64, 96, 3)
    colours = {tuple(int(v) for v in c) for c in img.reshape(-1, 3)}
    palette = ade20k_palette()
    assert len(palette) == 150 and colours <= {palette[r["class_id"]] for r in out.data["regions"]}
    assert sum(r["share"] for r in out.data["regions"]) == pytest.approx(1.0, abs=1e-3)


@pytest.fixture
def tiny_controlnet(hub_server, tmp_path):  # noqa: F811
    _serve(hub_server, "maestro-test/tiny-sd", tiny_stable_diffusion, tmp_path)
    _serve(hub_server, "maestro-test/tiny-controlnet", controlnet, tmp_path)
    return ModelEntry("maestro-test/tiny-controlnet", "canny-text-to-image", "controlnet", options=CN_OPTIONS)


def test_edges_then_controlled_generation_as_one_plan(tiny_controlnet, tmp_path, photo):
    """'Draw a watercolour of this photo's edges': canny-control -> canny-text-to-image through
    <resource>-1, run by the executor as a plan does (the edge map is real, the painting noise)."""
    from PIL import Image

    from core.config.paths import new_session_dir
    from core.events import EventBus
    from core.execution.executor import Assignment, Executor
    from core.models import catalog
    from core.plan import parse_plan

    plan = parse_plan({"tasks": [
        {"id": 1, "task": "canny-control", "dep": [], "args": {"image": "astronaut.png"}},
        {"id": 2, "task": "canny-text-to-image", "dep": [1],
         "args": {"image": "<resource>-1", "text": "a watercolour painting"}}]})
    session = new_session_dir()
    (session / "inputs" / "astronaut.png").write_bytes(photo.read_bytes())
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    results = Executor(bus=bus).run(plan, {1: Assignment(catalog.default_model("canny-control")),
                                           2: Assignment(tiny_controlnet)}, session)
    assert [results[i].status for i in (1, 2)] == ["done", "done"], [results[i].error for i in (1, 2)]
    edges = Image.open(results[1].output.file_of("image").path)
    painted = Image.open(results[2].output.file_of("image").path)
    assert edges.size == (96, 64) and painted.size == (32, 24)  # the condition's aspect ratio, 8-px multiples
    assert results[2].output.data["base"] == "maestro-test/tiny-sd"
    steps = [e for e in events if type(e).__name__ == "TaskProgress" and getattr(e, "task_id", None) == 2]
    assert len(steps) >= 2


def test_every_controlled_generation_task_runs(tiny_controlnet, tmp_path):
    """The seven condition types share one runner; each task name runs through it (one warm model)."""
    from dataclasses import replace

    from PIL import Image, ImageDraw

    from core.models.runtimes import RUNTIMES
    from core.tasks import TASKS as TABLE

    TASKS = RUNTIMES["controlnet"].tasks

    drawn = Image.new("RGB", (64, 48), "black")
    ImageDraw.Draw(drawn).rectangle((10, 10, 50, 38), outline="white", width=2)
    path = tmp_path / "map.png"
    drawn.save(path)
    assert {t for t in TABLE if t.endswith("-text-to-image")} == set(TASKS)
    for task in TASKS:
        entry = replace(tiny_controlnet, task=task)
        out = get_runner("controlnet").run(make_ctx(entry, tmp_path / task), {"image": path, "text": "a cat"})
        assert out.file_of("image") is not None and task.split("-")[0] in out.text
        assert out.data["extracted_with"] is None and len(out.files) == 1


def test_a_photo_given_for_an_edge_map_is_turned_into_one(tiny_controlnet, tmp_path, photo):
    """A plan that skipped the extractor: the canny map is made offline first, and said so."""
    from PIL import Image

    out = get_runner("controlnet").run(make_ctx(tiny_controlnet, tmp_path / "s"), {"image": photo, "text": "a cat"})
    assert out.data["extracted_with"] == "canny-control" and "turned into that map first" in out.text
    painted, edges = (Image.open(f.path) for f in out.files)
    assert edges.size == (96, 64) and painted.size == (32, 24)
    assert set(np.unique(np.asarray(edges.convert("L")))) <= {0, 255}


def test_controlnet_needs_its_base_model_and_a_prompt(tiny_controlnet, tmp_path, photo):
    entry = ModelEntry("maestro-test/tiny-controlnet", "canny-text-to-image", "controlnet",
                       options={**CN_OPTIONS, "base": "maestro-test/not-downloaded"})
    with pytest.raises(RunnerError, match="models get maestro-test/not-downloaded"):
        get_runner("controlnet").run(make_ctx(entry, tmp_path / "s"), {"image": photo, "text": "a cat"})
    with pytest.raises(RunnerError, match="'text' is missing"):
        get_runner("controlnet").run(make_ctx(tiny_controlnet, tmp_path / "s"), {"image": photo, "text": " "})


@pytest.fixture
def tiny_video(hub_server, tmp_path):  # noqa: F811
    _serve(hub_server, "maestro-test/tiny-t2v", text_to_video, tmp_path)
    return ModelEntry("maestro-test/tiny-t2v", "text-to-video", "diffusers-video", options=VIDEO_OPTIONS)


def test_text_to_video_writes_a_playable_mp4_with_progress(tiny_video, tmp_path):
    import av

    ctx = make_ctx(tiny_video, tmp_path / "s")
    seen = []
    ctx.progress = lambda fraction, message: seen.append(fraction)
    out = get_runner("diffusers-video").run(ctx, {"text": "a cat walking on the beach"})
    art = out.file_of("video")
    assert art is not None and art.mime == "video/mp4" and art.path.parent == ctx.artifacts_dir.resolve()
    with av.open(str(art.path)) as f:
        stream = f.streams.video[0]
        frames = [fr.to_ndarray(format="rgb24") for fr in f.decode(stream)]
        assert stream.codec_context.name == "h264"
    assert len(frames) == 4 and frames[0].shape == (32, 32, 3)
    assert seen == pytest.approx([0.5, 1.0])
    assert out.data["frames"] == 4 and out.data["seed"] == 5


def test_text_to_video_refuses_empty_and_huge_prompts_and_cancels(tiny_video, tmp_path):
    runner = get_runner("diffusers-video")
    with pytest.raises(RunnerError, match="'text' is missing"):
        runner.run(make_ctx(tiny_video, tmp_path / "s"), {"text": "  "})
    with pytest.raises(RunnerError, match="too long"):
        runner.run(make_ctx(tiny_video, tmp_path / "s"), {"text": "a cat " * 400})
    ctx = make_ctx(ModelEntry(tiny_video.id, "text-to-video", "diffusers-video",
                              options={**VIDEO_OPTIONS, "steps": 20}), tmp_path / "c")
    ctx.cancel = threading.Event()
    ctx.progress = lambda fraction, message: ctx.cancel.set()
    with pytest.raises(Cancelled):
        runner.run(ctx, {"text": "a cat"})
    assert list(ctx.artifacts_dir.iterdir()) == []


def test_video_runner_refuses_an_image_pipeline(hub_server, tmp_path):  # noqa: F811
    _serve(hub_server, "maestro-test/tiny-sd", tiny_stable_diffusion, tmp_path)
    entry = ModelEntry("maestro-test/tiny-sd", "text-to-video", "diffusers-video", options=VIDEO_OPTIONS)
    with pytest.raises(RunnerError, match="not a text-to-video pipeline"):
        get_runner("diffusers-video").run(make_ctx(entry, tmp_path / "s"), {"text": "a cat"})


def test_catalog_lists_the_new_tasks_with_facts():
    from core.models import catalog
    from core.tasks import TASKS

    for task in ("zero-shot-image-classification", "tabular-classification", "text-to-video", "audio-to-audio",
                 "canny-control", "mlsd-control", "openpose-control", "seg-control", "canny-text-to-image",
                 "mlsd-text-to-image", "openpose-text-to-image", "depth-text-to-image", "seg-text-to-image",
                 "hed-control", "scribble-control", "hed-text-to-image", "scribble-text-to-image"):
        assert task in TASKS
        default = catalog.default_model(task)
        assert default is not None and default.runtime != "llm", task
        json.dumps(default.to_dict())
    assert len(TASKS) >= 32
