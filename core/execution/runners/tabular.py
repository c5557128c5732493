"""tabular-classification: the rows of a table classified by a scikit-learn estimator from the Hub.

The table is a CSV/TSV file, or an image of a table read with the packaged RapidOCR (cells grouped into
rows by their vertical position, ordered left to right). The first row names the columns. Hub repos of
this task follow the skops layout: config.json {"sklearn": {"columns": [...], "model": {"file": ...}}};
the named columns are picked from the table by name (case-insensitive), else every column is used.

Safety: a `.skops` file loads with skops, trusting only scikit-learn / NumPy / SciPy types; a pickle
(`.joblib`, `.pkl`) can run code when loaded and is refused unless the user allowed that model id
(settings.allow_pickle_models)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image, save_json
from core.execution.runners.rapidocr import read_page
from core.results import TaskOutput

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
MAX_ROWS = 10_000
MAX_TABLE_BYTES = 20_000_000
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    source: str  # "csv" | "ocr"


# -- reading the table ---------------------------------------------------------------------------------
def _check(header: list[str], rows: list[list[str]], name: str, source: str) -> Table:
    header = [h.strip() for h in header]
    if not any(header):
        raise RunnerError(f"{name} has no header row naming the columns")
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise RunnerError(f"{name} has a header but no rows to classify")
    if len(rows) > MAX_ROWS:
        raise RunnerError(f"{name} has {len(rows):,} rows; at most {MAX_ROWS:,} can be classified at once")
    for i, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise RunnerError(f"{name}: row {i} has {len(r)} cells but the header has {len(header)} columns")
    return Table(header, [[c.strip() for c in r] for r in rows], source)


def read_csv(path: Path) -> Table:
    data = path.read_bytes()
    if len(data) > MAX_TABLE_BYTES:
        raise RunnerError(f"{path.name} is {len(data) / 1e6:.0f} MB; at most {MAX_TABLE_BYTES // 1_000_000} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RunnerError(f"{path.name} is not a UTF-8 text table (CSV)") from None
    if "\0" in text:
        raise RunnerError(f"{path.name} is binary, not a CSV table")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    try:
        lines = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as e:
        raise RunnerError(f"{path.name} is not a well-formed CSV: {e}") from None
    if not lines:
        raise RunnerError(f"{path.name} is empty: no header, no rows")
    return _check(lines[0], lines[1:], path.name, "csv")


def read_table_image(ctx: RunContext, path: Path) -> Table:
    """Cells from the packaged OCR, grouped into rows: a box joins the row whose centre line it overlaps."""
    image = load_image({"image": path}, "image")
    lines, _, _ = read_page(ctx, image, "reading a table from an image")
    boxes = []
    for line in lines:
        ys = [pt[1] for pt in line["box"]]
        xs = [pt[0] for pt in line["box"]]
        boxes.append((min(ys), max(ys), min(xs), line["text"]))
    rows: list[list[tuple[float, float, float, str]]] = []
    for box in sorted(boxes):
        centre = (box[0] + box[1]) / 2
        row = next((r for r in rows if r[0][0] <= centre <= r[0][1]), None)
        if row is None:
            rows.append([box])
        else:
            row.append(box)
    cells = [[b[3] for b in sorted(r, key=lambda b: b[2])] for r in rows]
    if not cells:
        raise RunnerError(f"no text found in {path.name}: it does not look like a table")
    return _check(cells[0], cells[1:], path.name, "ocr")


def read_table(ctx: RunContext, inputs: dict[str, Any]) -> Table:
    value = inputs.get("image")
    if not isinstance(value, Path | str) or not str(value).strip():
        raise RunnerError("'image' must be a table: a CSV file or an image of a table")
    path = Path(value)
    if not path.is_file():
        raise RunnerError(f"table file not found: {path.name}")
    if path.stat().st_size == 0:
        raise RunnerError(f"table file {path.name} is empty (0 bytes)")
    if path.suffix.lower() in TEXT_SUFFIXES:
        return read_csv(path)
    return read_table_image(ctx, path)


# -- the model ---------------------------------------------------------------------------------------
def _config(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("sklearn") or {}
    except (OSError, ValueError):
        return {}


def model_file(folder: Path, model_id: str, settings: dict[str, Any]) -> Path:
    """The estimator's file; a pickle only for a model id the user allowed (checked on every run, so a
    model warm in the pool is not reused after the permission was taken back)."""
    cfg = _config(folder)
    named = (cfg.get("model") or {}).get("file")
    candidates = [folder / named] if named else sorted(
        p for p in folder.iterdir() if p.suffix in (".skops", ".joblib", ".pkl"))
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise RunnerError(f"{model_id} has no scikit-learn model file (.skops, .joblib) in {folder.name}")
    if path.suffix != ".skops" and model_id not in (settings.get("allow_pickle_models") or []):
        raise RunnerError(f"{model_id} is a pickle ({path.name}), which can run code when loaded; Maestro refuses "
                          "it unless you allow this model in Settings -> allow pickle models")
    return path


def load_estimator(path: Path, model_id: str) -> Any:
    if path.suffix == ".skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if refused:
            raise RunnerError(f"{model_id} contains types Maestro does not trust: {', '.join(refused[:3])}")
        return sio.load(path, trusted=untrusted)
    import joblib

    return joblib.load(path)


def _number(cell: str) -> float:
    """'5.1', or '5,1' as semicolon-separated tables from European spreadsheets write it."""
    try:
        return float(cell)
    except ValueError:
        if cell.count(",") == 1 and "." not in cell:
            return float(cell.replace(",", "."))
        raise


def _features(table: Table, columns: list[str], model: Any) -> tuple[Any, list[str]]:
    import numpy as np

    index = {h.lower(): i for i, h in enumerate(table.header)}
    if columns:
        missing = [c for c in columns if str(c).lower() not in index]
        if missing:
            raise RunnerError(f"the table lacks column(s) the model needs: {', '.join(map(str, missing[:8]))} "
                              f"(it has: {', '.join(table.header[:12])})")
        picked = [index[str(c).lower()] for c in columns]
    else:
        picked = list(range(len(table.header)))
        expected = getattr(model, "n_features_in_", None)
        if expected is not None and expected != len(picked):
            raise RunnerError(f"the model takes {expected} columns, the table has {len(picked)}")
    names = [table.header[i] for i in picked]
    cells = [[r[i] for i in picked] for r in table.rows]
    try:
        return np.asarray([[_number(c) for c in row] for row in cells], dtype=np.float64), names
    except ValueError:
        return np.asarray(cells, dtype=object), names  # a pipeline with its own encoders takes strings


class TabularRunner(Runner):
    runtime = "sklearn"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        table = read_table(ctx, inputs)  # a malformed table fails before the model loads
        folder = self.folder(ctx)
        path = model_file(folder, ctx.model.id, ctx.settings)
        ctx.check_cancel()
        with self.model(ctx, lambda: load_estimator(path, ctx.model.id), folder=folder, device="cpu",
                        variant=(path.name,)) as lease:
            model = lease.model
            x, names = _features(table, list(_config(folder).get("columns") or []), model)
            try:
                predicted = model.predict(x)
                proba = model.predict_proba(x) if hasattr(model, "predict_proba") else None
            except (ValueError, TypeError) as e:
                raise RunnerError(f"{ctx.model.id} could not classify these rows: {str(e).splitlines()[0][:300]}") \
                    from None
        rows = []
        for i, label in enumerate(predicted):
            row: dict[str, Any] = {"row": i + 1, "label": str(label.item() if hasattr(label, "item") else label)}
            if proba is not None:
                row["score"] = round(float(proba[i].max()), 4)
            rows.append(row)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["label"]] = counts.get(r["label"], 0) + 1
        shown = "; ".join(f"row {r['row']}: {r['label']}" + (f" ({r['score']:.2f})" if "score" in r else "")
                          for r in rows[:10])
        more = f"; ... {len(rows) - 10} more" if len(rows) > 10 else ""
        text = f"{len(rows)} row(s) classified ({', '.join(f'{n} {k}' for k, n in counts.items())}): {shown}{more}"
        artifact = save_json(ctx, {"columns": names, "predictions": rows})
        return TaskOutput(text=text, files=[artifact],
                          data={"predictions": rows[:200], "columns": names, "table_from": table.source})
