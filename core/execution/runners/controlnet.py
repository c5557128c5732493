"""Controlled text-to-image: a Stable Diffusion 1.5 pipeline steered by a ControlNet and a condition map
(edges, lines, pose skeleton, depth, segmentation) that an extractor task made from a photo.

The selected model is the ControlNet (one per condition, e.g. lllyasviel/control_v11p_sd15_canny); the
base pipeline it plugs into is named by the entry's options["base"] and must be in the models cache
too. The output keeps the condition's aspect ratio. Safetensors only unless allowed, never remote
code, progress and cancel per denoising step (as the diffusers runner)."""

from __future__ import annotations

import random
from typing import Any

from core.config import hardware
from core.errors import Cancelled, RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.diffusion import MAX_PROMPT_CHARS, _fit
from core.execution.runners.media import load_image, save_png, text_arg
from core.execution.runners.transformers_runner import weights_policy
from core.models.entry import ModelEntry
from core.models.locate import folder_bytes, model_dir
from core.results import TaskOutput

DEFAULT_BASE = "stable-diffusion-v1-5/stable-diffusion-v1-5"


def base_entry(entry: ModelEntry) -> ModelEntry:
    from core.models import catalog

    base = str((entry.options or {}).get("base") or DEFAULT_BASE)
    return catalog.get(base, "text-to-image") or ModelEntry(base, "text-to-image", "diffusers")


def _base_dir(entry: ModelEntry) -> Any:
    base = base_entry(entry)
    try:
        return model_dir(base)
    except RunnerError:
        raise RunnerError(f"{entry.id} draws on the Stable Diffusion model {base.id}, which is not installed; "
                          f"download it with `python main.py models get {base.id}`") from None


def _load(cn_folder: Any, base_folder: Any, entry: ModelEntry, choice: hardware.DeviceChoice,
          settings: dict[str, Any]) -> Any:
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    dtype = hardware.torch_dtype(choice)
    try:
        safe_cn = weights_policy(cn_folder, entry.id, settings)
        net = ControlNetModel.from_pretrained(str(cn_folder), dtype=dtype, **({"use_safetensors": True} if safe_cn else {}))
        safe = weights_policy(base_folder, base_entry(entry).id, settings)
        pipe = StableDiffusionControlNetPipeline.from_pretrained(
            str(base_folder), controlnet=net, dtype=dtype, safety_checker=None, requires_safety_checker=False,
            trust_remote_code=False, **({"use_safetensors": True} if safe else {}))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RunnerError(f"could not load {entry.id} with its base model: {str(e).splitlines()[0][:300]}") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(choice.device)


# Conditions Maestro can extract offline when a plan hands the generation a photo instead of a map.
EXTRACT_OFFLINE = {"canny-text-to-image": "canny-control", "mlsd-text-to-image": "mlsd-control",
                   "openpose-text-to-image": "openpose-control"}


def looks_like_photo(image: Any) -> bool:
    """Edge, line and pose maps are mostly black: a photo has most of its pixels in the mid-tones."""
    import numpy as np

    gray = np.asarray(image.convert("L").resize((128, 128)), dtype=np.uint8)
    return float(((gray > 40) & (gray < 215)).mean()) > 0.5


def condition_for(ctx: RunContext, image: Any, path: Any) -> tuple[Any, Any]:
    """The condition map to draw under, and (when a photo was given) the extractor's output that made it."""
    extractor = EXTRACT_OFFLINE.get(ctx.task)
    if extractor is None or not looks_like_photo(image):
        return image, None
    from PIL import Image

    from core.execution.runners import get_runner
    from core.models import catalog

    entry = catalog.default_model(extractor)
    if entry is None:
        return image, None
    made = get_runner(entry.runtime).run(ctx.helper(extractor, entry), {"image": path})
    made.data["extractor"] = extractor
    return Image.open(made.file_of("image").path).convert("RGB"), made


class ControlNetRunner(Runner):
    runtime = "controlnet"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        condition = load_image(inputs, "image")
        prompt = text_arg(inputs, "text", MAX_PROMPT_CHARS)
        opts = ctx.model.options or {}
        steps = int(opts.get("steps", 20))
        size = int(opts.get("size", 512))
        seed = int(opts.get("seed", random.randrange(2**31)))
        cn_folder = self.folder(ctx)
        base_folder = _base_dir(ctx.model)
        condition, extracted = condition_for(ctx, condition, inputs["image"])
        choice = self.device(ctx)
        ctx.check_cancel()

        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            ctx.check_cancel()
            ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
            return kwargs

        import torch

        need = (ctx.model.size_bytes or folder_bytes(cn_folder)) + (base_entry(ctx.model).size_bytes or
                                                                    folder_bytes(base_folder))
        w, h = _fit(condition.size, size)
        with self.model(ctx, lambda: _load(cn_folder, base_folder, ctx.model, choice, ctx.settings), need,
                        folder=cn_folder, device=choice, variant=(str(base_folder),)) as lease:
            try:
                image = lease.model(prompt=prompt, image=condition.resize((w, h)), num_inference_steps=steps,
                                    height=h, width=w, guidance_scale=float(opts.get("guidance_scale", 7.5)),
                                    controlnet_conditioning_scale=float(opts.get("conditioning_scale", 1.0)),
                                    generator=torch.Generator("cpu").manual_seed(seed),
                                    callback_on_step_end=on_step).images[0]
            except Cancelled:
                raise
            except (ValueError, RuntimeError) as e:
                raise RunnerError(f"{ctx.model.id} failed: {str(e).splitlines()[0][:300]}") from None
        files = [save_png(ctx, image)] + (extracted.files if extracted else [])
        how = f"; the photo given was turned into that map first ({extracted.data['extractor']})" if extracted else ""
        return TaskOutput(text=f"an image {image.width}x{image.height} of: {prompt[:80]} (following the "
                               f"{ctx.task.split('-')[0]} map{how})", files=files,
                          data={"prompt": prompt, "seed": seed, "steps": steps, "base": base_entry(ctx.model).id,
                                "extracted_with": extracted.data["extractor"] if extracted else None,
                                "device": choice.device, "dtype": choice.dtype})
