"""Drawing results onto images: labelled boxes, polygons, mask overlays, depth maps (PIL only)."""

from __future__ import annotations

from typing import Any

from core.config.paths import DATA_DIR

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40), (128, 0, 0)]


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def labelled_boxes(image: Any, boxes: list[dict[str, Any]]) -> Any:
    """`boxes`: [{"box": [x0, y0, x1, y1] or [[x, y], ...], "label": str}], drawn on a copy."""
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 200))
    font = _font(max(12, round(min(out.size) / 30)))
    colours: dict[str, tuple[int, int, int]] = {}
    for item in boxes:
        label = str(item.get("label", ""))
        colour = colours.setdefault(label.split(" ")[0], PALETTE[len(colours) % len(PALETTE)])
        box = item["box"]
        if box and isinstance(box[0], list | tuple):
            points = [tuple(map(float, p)) for p in box]
            draw.polygon(points, outline=colour, width=width)
            x0, y0 = min(p[0] for p in points), min(p[1] for p in points)
        else:
            x0, y0, x1, y1 = map(float, box)
            draw.rectangle([x0, y0, x1, y1], outline=colour, width=width)
        if label:
            left, top, right, bottom = draw.textbbox((x0, y0), label, font=font)
            y_text = y0 - (bottom - top) - 2 if y0 - (bottom - top) - 2 >= 0 else y0
            draw.rectangle([x0, y_text, x0 + (right - left) + 4, y_text + (bottom - top) + 4], fill=colour)
            draw.text((x0 + 2, y_text), label, fill=(255, 255, 255), font=font)
    return out


def mask_overlay(image: Any, masks: list[tuple[str, Any]], alpha: float = 0.5) -> Any:
    """Blend each (label, mask) in its own colour over the image; masks are PIL 'L' images or arrays."""
    import numpy as np
    from PIL import Image

    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    for i, (_, mask) in enumerate(masks):
        m = mask if isinstance(mask, Image.Image) else Image.fromarray(np.asarray(mask).astype(np.uint8) * 255)
        m = np.asarray(m.convert("L").resize(image.size), dtype=np.float32)[..., None] / 255.0
        colour = np.array(PALETTE[i % len(PALETTE)], dtype=np.float32)
        base = base * (1 - alpha * m) + colour * (alpha * m)
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))


def depth_image(depth: Any) -> Any:
    """A depth/disparity array as an 8-bit greyscale PNG, near = bright (the usual convention)."""
    import numpy as np
    from PIL import Image

    d = np.asarray(depth, dtype=np.float32).squeeze()
    lo, hi = float(np.nanmin(d)), float(np.nanmax(d))
    scaled = (d - lo) / (hi - lo) if hi > lo else np.zeros_like(d)
    return Image.fromarray((scaled * 255).astype(np.uint8), mode="L")


def ade20k_palette() -> list[tuple[int, int, int]]:
    """ADE20K's 150 class colours (mmsegmentation's table), the colours the seg ControlNet learned."""
    import json

    path = DATA_DIR / "ade20k_palette.json"
    return [tuple(c) for c in json.loads(path.read_text(encoding="utf-8"))]
