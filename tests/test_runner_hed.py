"""hed-control / scribble-control: ControlNet's HED architecture with RANDOM weights (fp16 state dict, as
ControlNetHED.pth is shipped) served by the loopback Hub. The soft-edge map of random weights is noise:
only the mechanics are asserted (named-file download, pickle permission, weights-only load, map sizes,
binary scribbles). The scribble post-processing itself is checked on a real shape: a drawn, blurred
line comes out as one stroke along it."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.execution.runners.hed import build_hed, scribble
from core.models import hub
from core.models.entry import ModelEntry
from tests.hubserver import hub_server  # noqa: F401 - fixture
from tests.runner_support import make_ctx

pytestmark = pytest.mark.slow
REPO = "maestro-test/annotators"


@pytest.fixture
def served(hub_server, tmp_path):  # noqa: F811
    import torch

    torch.manual_seed(0)
    folder = tmp_path / "build"
    folder.mkdir()
    state = {k: v.half() for k, v in build_hed().state_dict().items()}
    torch.save(state, folder / "ControlNetHED.pth")
    (folder / "README.md").write_text("other annotators live here too")
    hub_server.add_folder(REPO, folder)
    hub.get_model(REPO, files=["ControlNetHED.pth"])


@pytest.fixture
def photo(tmp_path):
    from PIL import Image
    from skimage import data

    path = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).resize((128, 96)).save(path)
    return path


def _run(task, photo, tmp_path, allow=True):
    entry = ModelEntry(REPO, task, "hed", files=["ControlNetHED.pth"])
    ctx = make_ctx(entry, tmp_path / "s")
    if allow:
        ctx.settings["allow_pickle_models"] = [REPO]
    return get_runner("hed").run(ctx, {"image": photo})


def test_soft_edges_and_scribbles_from_the_hub_checkpoint(served, photo, tmp_path):
    from PIL import Image

    with pytest.raises(RunnerError, match="pickle"):
        _run("hed-control", photo, tmp_path, allow=False)
    soft = _run("hed-control", photo, tmp_path)
    img = np.asarray(Image.open(soft.file_of("image").path).convert("L"))
    assert img.shape == (96, 128) and soft.data["model_loaded"] is True
    strokes = _run("scribble-control", photo, tmp_path)
    img = np.asarray(Image.open(strokes.file_of("image").path).convert("L"))
    assert img.shape == (96, 128) and set(np.unique(img)) <= {0, 255}
    with pytest.raises(RunnerError, match="pickle"):  # warm in the pool: the permission is checked again
        _run("scribble-control", photo, tmp_path, allow=False)


def test_a_wrong_checkpoint_is_refused(hub_server, photo, tmp_path):  # noqa: F811
    import torch

    folder = tmp_path / "bad"
    folder.mkdir()
    torch.save({"conv.weight": torch.zeros(3, 3)}, folder / "ControlNetHED.pth")
    hub_server.add_folder(REPO, folder)
    hub.get_model(REPO, files=["ControlNetHED.pth"])
    with pytest.raises(RunnerError, match="not ControlNet's HED weights"):
        _run("hed-control", photo, tmp_path)


def test_scribble_turns_a_soft_line_into_one_stroke():
    import cv2

    soft = np.zeros((120, 160), np.uint8)
    cv2.line(soft, (20, 60), (140, 60), 255, 9)
    soft = cv2.GaussianBlur(soft, (0, 0), 4)
    out = scribble(soft)
    rows = np.where(out[:, 80] == 255)[0]
    assert set(np.unique(out)) <= {0, 255} and len(rows) > 0
    # one band centred on the line: the 1-px ridge, re-blurred (sigma 3) into a marker-like stroke
    assert abs(rows.mean() - 60) < 2 and len(rows) < 30 and np.all(np.diff(rows) == 1)
    assert out[10:40].max() == 0 and out[90:].max() == 0  # nothing away from the line
