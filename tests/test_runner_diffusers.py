"""text-to-image / image-to-image through diffusers: tiny SD pipeline -> loopback Hub -> cache -> PNG.

THE WEIGHTS ARE RANDOM (tests/tiny_models.py): the pictures are noise. Only the mechanics are
asserted: download, safetensors load, denoising steps with progress, cancel, the PNG artifact."""

from __future__ import annotations

import threading

import pytest

from core.errors import Cancelled, RunnerError
from core.execution.runners import get_runner
from core.models import hub
from core.models.entry import ModelEntry
from tests.hubserver import hub_server  # noqa: F401 - fixture
from tests.runner_support import make_ctx
from tests.tiny_models import tiny_stable_diffusion

pytestmark = pytest.mark.slow
OPTIONS = {"steps": 3, "size": 32, "guidance_scale": 1.0, "seed": 7, "strength": 0.5}


@pytest.fixture
def tiny_sd(hub_server, tmp_path):  # noqa: F811
    hub_server.add_folder("maestro-test/tiny-sd", tiny_stable_diffusion(tmp_path / "build"))
    snap = hub.get_model("maestro-test/tiny-sd")
    assert (snap / "model_index.json").is_file() and list(snap.rglob("*.safetensors"))
    return snap


def test_text_to_image_writes_a_png_with_progress(tiny_sd, tmp_path):
    from PIL import Image

    entry = ModelEntry("maestro-test/tiny-sd", "text-to-image", "diffusers", options=OPTIONS)
    ctx = make_ctx(entry, tmp_path / "s")
    seen = []
    ctx.progress = lambda fraction, message: seen.append(fraction)
    out = get_runner("diffusers").run(ctx, {"text": "a red cat on a sofa"})
    art = out.file_of("image")
    assert art is not None and art.path.parent == ctx.artifacts_dir.resolve()
    assert Image.open(art.path).size == (32, 32)
    assert out.data["seed"] == 7 and out.data["steps"] == 3
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_image_to_image_keeps_the_aspect_ratio(tiny_sd, tmp_path):
    from PIL import Image

    src = tmp_path / "in.png"
    Image.new("RGB", (64, 32), "red").save(src)
    entry = ModelEntry("maestro-test/tiny-sd", "image-to-image", "diffusers", options=OPTIONS)
    out = get_runner("diffusers").run(make_ctx(entry, tmp_path / "s"), {"image": src, "text": "make it blue"})
    assert Image.open(out.file_of("image").path).size == (32, 16)


def test_cancel_stops_between_steps(tiny_sd, tmp_path):
    entry = ModelEntry("maestro-test/tiny-sd", "text-to-image", "diffusers", options={**OPTIONS, "steps": 50})
    ctx = make_ctx(entry, tmp_path / "s")
    steps = []

    def progress(fraction, message):
        steps.append(fraction)
        if len(steps) == 2:
            ctx.cancel.set()

    ctx.progress = progress
    ctx.cancel = threading.Event()
    with pytest.raises(Cancelled):
        get_runner("diffusers").run(ctx, {"text": "a cat"})
    assert len(steps) == 2 and list(ctx.artifacts_dir.iterdir()) == []


def test_prompt_is_required_for_text_to_image(tmp_path):
    entry = ModelEntry("maestro-test/not-downloaded", "text-to-image", "diffusers", options=OPTIONS)
    with pytest.raises(RunnerError, match="'text' is missing"):
        get_runner("diffusers").run(make_ctx(entry, tmp_path / "s"), {"text": " "})
