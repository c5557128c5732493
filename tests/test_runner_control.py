"""ControlNet condition extractors that need no Hub model, on real photos (scikit-image's data):
canny edges and straight lines with OpenCV, OpenPose skeletons from MediaPipe's packaged pose model.
Real inference: the assertions are about what is in the photos."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import catalog
from tests.runner_support import make_ctx


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    out = {}
    for name in ("astronaut", "camera", "coffee"):
        out[name] = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(out[name])
    return out


def _run(task: str, inputs: dict, tmp_path):
    entry = catalog.default_model(task)
    ctx = make_ctx(entry, tmp_path / "s")
    out = get_runner(entry.runtime).run(ctx, inputs)
    art = out.file_of("image")
    assert art is not None and art.path.parent == ctx.artifacts_dir.resolve()
    return out, art.path


def _gradient(path):
    """Sobel gradient magnitude of a photo (where real edges are)."""
    import cv2
    from PIL import Image

    gray = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))


@pytest.mark.parametrize("name", ["astronaut", "camera", "coffee"])
def test_canny_edges_lie_on_the_photos_strong_gradients(name, photos, tmp_path):
    from PIL import Image

    out, path = _run("canny-control", {"image": photos[name]}, tmp_path)
    edges = np.asarray(Image.open(path).convert("L")) > 0
    assert Image.open(path).size == Image.open(photos[name]).size
    assert 0.02 < out.data["edge_share"] < 0.25  # a photo, not a blank or a noise field
    grad = _gradient(photos[name])
    assert grad[edges].mean() > 3 * grad[~edges].mean()


def test_line_map_finds_the_straight_lines(photos, tmp_path):
    """A drawn rectangle gives its four sides; the cameraman photo (tripod, horizon, buildings) many."""
    import cv2
    from PIL import Image

    canvas = np.full((240, 320, 3), 230, np.uint8)
    cv2.rectangle(canvas, (60, 50), (260, 190), (20, 20, 20), 3)
    drawn = tmp_path / "rect.png"
    Image.fromarray(canvas).save(drawn)
    out, path = _run("mlsd-control", {"image": drawn}, tmp_path)
    horizontal = [s for s in out.data["segments"] if abs(s[1] - s[3]) < 3]
    vertical = [s for s in out.data["segments"] if abs(s[0] - s[2]) < 3]
    assert horizontal and vertical
    assert {round(min(s[1], s[3]) / 10) for s in horizontal} >= {5, 19}  # near y=50 and y=190
    assert {round(min(s[0], s[2]) / 10) for s in vertical} >= {6, 26}  # near x=60 and x=260

    out, path = _run("mlsd-control", {"image": photos["camera"]}, tmp_path)
    assert out.data["lines"] >= 20
    lines = np.asarray(Image.open(path).convert("L")) > 0
    grad = _gradient(photos["camera"])
    assert grad[lines].mean() > 2 * grad[~lines].mean()


def test_pose_skeleton_of_the_astronaut_and_cameraman(photos, tmp_path):
    from PIL import Image

    out, path = _run("openpose-control", {"image": photos["astronaut"]}, tmp_path)
    k = out.data["keypoints"]
    assert {"nose", "neck", "right shoulder", "left shoulder"} <= set(k)
    assert k["nose"][1] < k["neck"][1]  # the head is above the shoulders
    assert 150 < k["nose"][0] < 300 and 60 < k["nose"][1] < 200  # her face, left of centre, upper third
    skeleton = np.asarray(Image.open(path).convert("RGB"))
    assert skeleton.shape[:2] == (512, 512) and (skeleton.sum(axis=2) > 0).mean() < 0.2  # limbs on black
    out, _ = _run("openpose-control", {"image": photos["camera"]}, tmp_path)
    assert len(out.data["keypoints"]) >= 10


def test_pose_needs_a_person_and_extractors_refuse_non_images(photos, tmp_path):
    with pytest.raises(RunnerError, match="no person found"):
        _run("openpose-control", {"image": photos["coffee"]}, tmp_path)
    not_image = tmp_path / "notes.png"
    not_image.write_text("this is text, not a picture")
    for task in ("canny-control", "mlsd-control", "openpose-control"):
        with pytest.raises(RunnerError, match="not an image"):
            _run(task, {"image": not_image}, tmp_path)


def test_bad_inputs_fail_alone_and_the_other_tasks_run(photos, tmp_path):
    """One plan, real offline runners: silent audio, a text file given as an image and a header-only CSV
    fail with their reasons, the task fed by a failed one is skipped, and the healthy ones finish."""
    import soundfile as sf

    from core.config.paths import new_session_dir
    from core.execution.executor import Assignment, Executor
    from core.plan import parse_plan

    session = new_session_dir()
    inputs = session / "inputs"
    sf.write(inputs / "silent.wav", np.zeros(16_000, np.float32), 16_000)
    (inputs / "notes.png").write_text("not a picture")
    (inputs / "empty.csv").write_text("a,b,c\n")
    (inputs / "photo.png").write_bytes(photos["astronaut"].read_bytes())
    plan = parse_plan({"tasks": [
        {"id": 1, "task": "audio-to-audio", "dep": [], "args": {"audio": "silent.wav"}},
        {"id": 2, "task": "mlsd-control", "dep": [], "args": {"image": "notes.png"}},
        {"id": 3, "task": "canny-text-to-image", "dep": [2], "args": {"image": "<resource>-2", "text": "a house"}},
        {"id": 4, "task": "tabular-classification", "dep": [], "args": {"image": "empty.csv"}},
        {"id": 5, "task": "canny-control", "dep": [], "args": {"image": "photo.png"}},
        {"id": 6, "task": "openpose-control", "dep": [], "args": {"image": "photo.png"}}]})
    tabular = catalog.default_model("tabular-classification")  # not downloaded: the table is read first
    chosen = {t.id: catalog.default_model(t.task) for t in plan.tasks}
    chosen[4] = tabular
    results = Executor().run(plan, {i: Assignment(m) for i, m in chosen.items()}, session)
    status = {i: r.status for i, r in results.items()}
    assert status == {1: "failed", 2: "failed", 3: "skipped", 4: "failed", 5: "done", 6: "done"}
    assert "silent" in results[1].error and "not an image" in results[2].error
    assert "no rows" in results[4].error and "task 2" in results[3].error
