"""optical-character-recognition with RapidOCR: PP-OCRv4 detection + recognition as ONNX models."""

from __future__ import annotations

from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.draw import labelled_boxes
from core.execution.runners.media import load_image, save_png
from core.models.locate import folder_bytes
from core.results import TaskOutput

TASK = "optical-character-recognition"


def reading_order(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Top-to-bottom, then left-to-right; lines whose centres are within half a line height share a row."""
    def key(line: dict[str, Any]) -> tuple[float, float]:
        ys = [p[1] for p in line["box"]]
        xs = [p[0] for p in line["box"]]
        return (sum(ys) / len(ys), min(xs))

    rows: list[list[dict[str, Any]]] = []
    for line in sorted(lines, key=key):
        y, _ = key(line)
        h = max(p[1] for p in line["box"]) - min(p[1] for p in line["box"])
        if rows and abs(key(rows[-1][0])[0] - y) < h / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: key(ln)[1])]


def read_page(ctx: RunContext, image: Any, why: str) -> tuple[list[dict[str, Any]], str, bool]:
    """`RapidOCRRunner.read` with the packaged OCR model, for another expert's task (a document
    question, a table in a picture); `why` finishes "... needs the OCR model" when it is missing."""
    from core.models import known_models

    entry = known_models.default_for(TASK)
    if entry is None:
        raise RunnerError(f"{why} needs the OCR model")
    return RapidOCRRunner().read(ctx.helper(TASK, entry), image)


class RapidOCRRunner(Runner):
    runtime = "rapidocr"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        image = load_image(inputs, "image")
        lines, provider, _ = self.read(ctx, image)
        text = "\n".join(line["text"] for line in lines)
        files = []
        if lines:
            marked = labelled_boxes(image, [{"box": ln["box"], "label": ""} for ln in lines])
            files.append(save_png(ctx, marked))
        return TaskOutput(text=text or "(no text found)", files=files,
                          data={"lines": lines, "provider": provider})

    def read(self, ctx: RunContext, image: Any) -> tuple[list[dict[str, Any]], str, bool]:
        """(text lines in reading order with boxes and scores, ORT provider, whether it loaded now)."""
        folder = self.folder(ctx)
        providers = self.providers(ctx)
        use_cuda = providers[0] == "CUDAExecutionProvider"
        use_dml = providers[0] == "DmlExecutionProvider"

        def load() -> Any:
            from rapidocr_onnxruntime import RapidOCR

            flags = {f"{part}_use_{ep}": on for part in ("det", "cls", "rec")
                     for ep, on in (("cuda", use_cuda), ("dml", use_dml))}
            return RapidOCR(**flags)

        import numpy as np

        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])  # OpenCV-based pre-processing wants BGR
        with self.model(ctx, load, folder_bytes(folder / "models") * 3, device=providers[0]) as lease:
            ctx.progress(None, "reading text")
            result, _ = lease.model(bgr)
        lines = [{"text": text, "score": round(float(score), 4), "box": [[float(x), float(y)] for x, y in box]}
                 for box, text, score in (result or [])]
        return reading_order(lines), providers[0], lease.loaded
