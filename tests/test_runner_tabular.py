"""tabular-classification through the loopback Hub, with a REAL model: a logistic regression trained here on
scikit-learn's bundled iris measurements, saved in skops' format with the Hub's config.json layout. It
classifies held-out iris rows from a CSV and from an image of the same table (read by the packaged
RapidOCR). Malformed tables, empty ones, wrong file types and pickled models get clear errors."""

from __future__ import annotations

import json

import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import hub
from core.models.entry import ModelEntry
from tests.hubserver import hub_server  # noqa: F401 - fixture
from tests.runner_support import make_ctx

pytestmark = pytest.mark.slow
COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
HELD_OUT = [0, 1, 50, 51, 100, 101]  # two flowers of each species, left out of training


def _iris():
    from sklearn.datasets import load_iris

    data = load_iris()
    return data.data, [str(data.target_names[t]) for t in data.target]


def _build(folder, fmt: str = "skops"):
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    x, y = _iris()
    keep = [i for i in range(len(y)) if i not in HELD_OUT]
    model = LogisticRegression(max_iter=500).fit(x[keep], np.asarray(y)[keep])
    folder.mkdir(parents=True)
    name = f"model.{fmt}"
    if fmt == "skops":
        sio.dump(model, folder / name)
    else:
        import joblib

        joblib.dump(model, folder / name)
    (folder / "config.json").write_text(json.dumps({"sklearn": {
        "columns": COLUMNS, "model": {"file": name}, "task": "tabular-classification"}}))
    return folder


@pytest.fixture
def iris_entry(hub_server, tmp_path):  # noqa: F811
    hub_server.add_folder("maestro-test/iris-skops", _build(tmp_path / "build"))
    hub.get_model("maestro-test/iris-skops")
    return ModelEntry("maestro-test/iris-skops", "tabular-classification", "sklearn")


def _csv(tmp_path, sep: str = ",") -> tuple:
    x, y = _iris()
    # columns shuffled and one extra: the model's config picks its four by name
    header = ["id", COLUMNS[3], COLUMNS[0], COLUMNS[2], COLUMNS[1]]
    lines = [sep.join(header)] + [sep.join([str(i), *(f"{x[i][j]:.1f}" for j in (3, 0, 2, 1))]) for i in HELD_OUT]
    path = tmp_path / "flowers.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, [y[i] for i in HELD_OUT]


def _run(entry, inputs, tmp_path, settings=None):
    ctx = make_ctx(entry, tmp_path / "s")
    ctx.settings.update(settings or {})
    return get_runner("sklearn").run(ctx, inputs)


def test_csv_rows_are_classified_correctly(iris_entry, tmp_path):
    path, truth = _csv(tmp_path)
    out = _run(iris_entry, {"image": path}, tmp_path)
    assert [p["label"] for p in out.data["predictions"]] == truth
    assert all(p["score"] > 0.5 for p in out.data["predictions"])
    assert out.data["columns"] == COLUMNS and out.data["table_from"] == "csv"
    assert "6 row(s) classified (2 setosa, 2 versicolor, 2 virginica)" in out.text
    assert json.loads(out.file_of("json").path.read_text())["predictions"][0]["label"] == "setosa"


def test_semicolon_table_with_decimal_commas(iris_entry, tmp_path):
    path, truth = _csv(tmp_path, ";")
    path.write_text(path.read_text().replace(".", ","))
    out = _run(iris_entry, {"image": path}, tmp_path)
    assert [p["label"] for p in out.data["predictions"]] == truth


def test_table_image_is_read_with_ocr_and_classified(iris_entry, tmp_path):
    from PIL import Image, ImageDraw, ImageFont

    x, y = _iris()
    rows = [["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]] + \
        [[f"{v:.1f}" for v in x[i]] for i in HELD_OUT]
    font = ImageFont.load_default(size=28)
    img = Image.new("RGB", (1400, 60 + 56 * len(rows)), "white")
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            draw.text((30 + 340 * c, 30 + 56 * r), cell, fill="black", font=font)
    path = tmp_path / "table.png"
    img.save(path)
    out = _run(iris_entry, {"image": path}, tmp_path)
    assert out.data["table_from"] == "ocr"
    assert [p["label"] for p in out.data["predictions"]] == [y[i] for i in HELD_OUT]


def test_bad_tables_get_clear_errors(iris_entry, tmp_path):
    cases = {
        "header.csv": (",".join(COLUMNS) + "\n", "no rows"),
        "ragged.csv": (",".join(COLUMNS) + "\n5.1,3.5,1.4\n", "row 2 has 3 cells"),
        "missing.csv": ("a,b,c,d\n1,2,3,4\n", "lacks column"),
        "words.csv": (",".join(COLUMNS) + "\nbig,small,long,short\n", "could not classify"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(RunnerError, match=message):
            _run(iris_entry, {"image": tmp_path / name}, tmp_path)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(RunnerError, match="empty"):
        _run(iris_entry, {"image": tmp_path / "empty.csv"}, tmp_path)
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)))
    with pytest.raises(RunnerError, match="not a UTF-8|binary"):
        _run(iris_entry, {"image": tmp_path / "binary.csv"}, tmp_path)
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(300))
    with pytest.raises(RunnerError, match="not an image"):
        _run(iris_entry, {"image": tmp_path / "song.mp3"}, tmp_path)


def test_pickled_models_run_only_when_allowed(hub_server, tmp_path):  # noqa: F811
    hub_server.add_folder("maestro-test/iris-joblib", _build(tmp_path / "build", "joblib"))
    hub.get_model("maestro-test/iris-joblib", files=["config.json", "model.joblib"])
    entry = ModelEntry("maestro-test/iris-joblib", "tabular-classification", "sklearn")
    path, truth = _csv(tmp_path)
    with pytest.raises(RunnerError, match="pickle"):
        _run(entry, {"image": path}, tmp_path)
    out = _run(entry, {"image": path}, tmp_path, {"allow_pickle_models": ["maestro-test/iris-joblib"]})
    assert [p["label"] for p in out.data["predictions"]] == truth
    with pytest.raises(RunnerError, match="pickle"):  # warm in the pool, but the permission is checked again
        _run(entry, {"image": path}, tmp_path)
