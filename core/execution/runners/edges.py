"""ControlNet condition maps that need no model: canny edges and straight line segments (OpenCV).

canny-control: cv2.Canny on the RGB photo with ControlNet's usual thresholds (100/200) — white edges
on black, the input of the canny ControlNet. mlsd-control: ControlNet's MLSD model finds a room's or
a building's straight lines; OpenCV's line segment detector (LSD, von Gioi et al.) finds the same kind
of segments without a model, drawn white on black as the mlsd ControlNet expects. Both keep the
photo's size (capped so a huge scan does not take seconds)."""

from __future__ import annotations

from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image, save_png
from core.results import TaskOutput

MAX_SIDE = 2048


def _gray_and_rgb(image: Any) -> tuple[Any, Any]:
    import cv2
    import numpy as np

    w, h = image.size
    scale = min(1.0, MAX_SIDE / max(w, h))
    if scale < 1.0:
        image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))))
    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), rgb


def canny_map(image: Any, low: int = 100, high: int = 200) -> Any:
    """White edges on black (uint8 HxW)."""
    import cv2

    if not 0 <= low < high <= 1000:
        raise RunnerError(f"canny thresholds must satisfy 0 <= low < high <= 1000, got {low} and {high}")
    _, rgb = _gray_and_rgb(image)
    return cv2.Canny(rgb, low, high)


def line_segments(image: Any, min_length: float = 0.03) -> tuple[Any, list[list[float]]]:
    """Straight segments longer than `min_length` x the image diagonal, drawn on black, and their ends."""
    import cv2
    import numpy as np

    gray, _ = _gray_and_rgb(image)
    h, w = gray.shape
    found = cv2.createLineSegmentDetector().detect(gray)[0]
    segments = [] if found is None else found.reshape(-1, 4).tolist()
    shortest = min_length * float(np.hypot(w, h))
    segments = [s for s in segments if np.hypot(s[2] - s[0], s[3] - s[1]) >= shortest]
    canvas = np.zeros((h, w), np.uint8)
    for x0, y0, x1, y1 in segments:
        cv2.line(canvas, (round(x0), round(y0)), (round(x1), round(y1)), 255, 1, cv2.LINE_AA)
    return canvas, [[round(v, 1) for v in s] for s in segments]


class EdgeMapRunner(Runner):
    runtime = "opencv"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        from PIL import Image

        image = load_image(inputs, "image")
        opts = ctx.model.options or {}
        ctx.check_cancel()
        if ctx.task == "canny-control":
            edges = canny_map(image, int(opts.get("low", 100)), int(opts.get("high", 200)))
            share = float((edges > 0).mean())
            out = Image.fromarray(edges).convert("RGB")
            text = f"canny edge map {out.width}x{out.height} ({share:.1%} of pixels are edges)"
            return TaskOutput(text=text, files=[save_png(ctx, out)], data={"edge_share": round(share, 4)})
        canvas, segments = line_segments(image, float(opts.get("min_length", 0.03)))
        out = Image.fromarray(canvas).convert("RGB")
        text = f"line map {out.width}x{out.height}: {len(segments)} straight line(s)"
        return TaskOutput(text=text, files=[save_png(ctx, out)],
                          data={"lines": len(segments), "segments": segments[:200]})
