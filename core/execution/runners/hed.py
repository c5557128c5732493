"""hed-control (soft edges) and scribble-control with ControlNet's HED model from the Hub
(lllyasviel/Annotators, ControlNetHED.pth: the Apache-2.0 retrained HED of ControlNet 1.1).

The network is five VGG-style blocks, each projected to one edge channel; the five side outputs are
resized to the image, averaged and squashed with a sigmoid — the soft-edge map the softedge/hed
ControlNets take. The scribble map thins it (non-maximum suppression along four directions at 127),
blurs and binarises it, as ControlNet's scribble preprocessor does. The checkpoint is a pickled state
dict: it runs only when the user allowed the model id, and loads with torch.load(weights_only=True)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image, save_png
from core.results import TaskOutput

WEIGHTS = "ControlNetHED.pth"
MAX_SIDE = 1024
# (input channels, output channels, convolutions) of the five blocks; the key names follow the checkpoint
BLOCKS = ((3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3))


def build_hed(blocks: tuple[tuple[int, int, int], ...] = BLOCKS) -> Any:
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, n: int) -> None:
            super().__init__()
            self.convs = nn.Sequential(*[nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1) for i in range(n)])
            self.projection = nn.Conv2d(cout, 1, 1)

        def forward(self, x: Any, pool: bool) -> tuple[Any, Any]:
            if pool:
                x = nn.functional.max_pool2d(x, 2, 2)
            for conv in self.convs:
                x = nn.functional.relu(conv(x))
            return x, self.projection(x)

    class HED(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.Parameter(torch.zeros(1, 3, 1, 1))  # the learned mean pixel
            for i, spec in enumerate(blocks, start=1):
                setattr(self, f"block{i}", Block(*spec))

        def forward(self, x: Any) -> list[Any]:
            h, sides = x - self.norm, []
            for i in range(1, len(blocks) + 1):
                h, side = getattr(self, f"block{i}")(h, pool=i > 1)
                sides.append(side)
            return sides

    return HED()


def load(path: Path, model_id: str) -> Any:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = build_hed()
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, OSError, ValueError, AttributeError) as e:  # wrong file, or a pickle of objects
        raise RunnerError(f"{model_id}: {path.name} is not ControlNet's HED weights "
                          f"({str(e).splitlines()[0][:200]})") from None
    return model.eval()


def soft_edges(model: Any, image: Any) -> Any:
    """uint8 HxW soft-edge map of a PIL image."""
    import cv2
    import numpy as np
    import torch

    w, h = image.size
    scale = min(1.0, MAX_SIDE / max(w, h))
    small = image.resize((max(8, round(w * scale)), max(8, round(h * scale)))) if scale < 1 else image
    rgb = np.asarray(small.convert("RGB"), dtype=np.float32)
    with torch.inference_mode():
        sides = model(torch.from_numpy(rgb).permute(2, 0, 1)[None])
    maps = [cv2.resize(s[0, 0].float().numpy(), (w, h), interpolation=cv2.INTER_LINEAR) for s in sides]
    edge = 1 / (1 + np.exp(-np.mean(maps, axis=0, dtype=np.float64)))
    return (edge * 255).clip(0, 255).astype(np.uint8)


def scribble(edge: Any, threshold: int = 127, sigma: float = 3.0) -> Any:
    """Thin, binary strokes from a soft-edge map: keep ridge pixels (a maximum along one of four
    directions) above `threshold`, then blur and binarise so the strokes look hand drawn."""
    import cv2
    import numpy as np

    x = cv2.GaussianBlur(edge.astype(np.float32), (0, 0), sigma)
    kernels = [np.array(k, np.uint8) for k in ([[0, 0, 0], [1, 1, 1], [0, 0, 0]], [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
                                              [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 0, 1], [0, 1, 0], [1, 0, 0]])]
    ridge = np.zeros_like(x)
    for k in kernels:
        np.putmask(ridge, cv2.dilate(x, kernel=k) == x, x)
    strokes = np.where(ridge > threshold, 255, 0).astype(np.uint8)
    strokes = cv2.GaussianBlur(strokes, (0, 0), sigma)
    return np.where(strokes > 4, 255, 0).astype(np.uint8)


class HedRunner(Runner):
    runtime = "hed"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        from PIL import Image

        image = load_image(inputs, "image")
        folder = self.folder(ctx)
        path = folder / (ctx.model.files[0] if ctx.model.files else WEIGHTS)
        if not path.is_file():
            raise RunnerError(f"{ctx.model.id} has no {path.name}; `python main.py models get {ctx.model.id} "
                              f"--file {path.name}`")
        if ctx.model.id not in (ctx.settings.get("allow_pickle_models") or []):  # checked also when warm
            raise RunnerError(f"{ctx.model.id}'s {path.name} is a pickle, which can run code when loaded; Maestro "
                              "refuses it unless you allow this model in Settings -> allow pickle models")
        ctx.check_cancel()
        with self.model(ctx, lambda: load(path, ctx.model.id), ctx.model.size_bytes or path.stat().st_size,
                        folder=folder, device="cpu", variant=(path.name,)) as lease:
            ctx.progress(None, "tracing soft edges")
            edge = soft_edges(lease.model, image)
        out = scribble(edge) if ctx.task == "scribble-control" else edge
        kind = "scribble" if ctx.task == "scribble-control" else "soft-edge"
        share = float((out > 127).mean())
        return TaskOutput(text=f"{kind} map {image.width}x{image.height} ({share:.1%} of pixels on lines)",
                          files=[save_png(ctx, Image.fromarray(out).convert("RGB"))],
                          data={"line_share": round(share, 4)})
