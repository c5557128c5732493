"""text-to-image and image-to-image with diffusers pipelines (Stable Diffusion family).

Safetensors only (unless the user allowed pickles for the model), never remote code; fp16 on GPUs.
On a CPU a 512 px image takes minutes, so the step count and size come from the catalog entry's
options (turbo models need 1-4 steps) and progress is reported every step, with cancel honoured."""

from __future__ import annotations

import random
from typing import Any

from core.config import hardware
from core.errors import Cancelled, RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_image, save_png, text_arg
from core.execution.runners.transformers_runner import weights_policy
from core.results import TaskOutput

MAX_PROMPT_CHARS = 1000


def _load(task: str, folder: Any, model_id: str, choice: hardware.DeviceChoice, settings: dict[str, Any]) -> Any:
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

    safe = weights_policy(folder, model_id, settings)
    cls = AutoPipelineForText2Image if task == "text-to-image" else AutoPipelineForImage2Image
    kwargs: dict[str, Any] = {"use_safetensors": True} if safe else {}
    try:
        pipe = cls.from_pretrained(str(folder), dtype=hardware.torch_dtype(choice), trust_remote_code=False,
                                   **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RunnerError(f"could not load {model_id} for {task}: {str(e).splitlines()[0][:300]}") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(choice.device)


class DiffusersRunner(Runner):
    runtime = "diffusers"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        task = ctx.task
        opts = ctx.model.options
        init = load_image(inputs, "image") if task == "image-to-image" else None
        prompt = text_arg(inputs, "text", MAX_PROMPT_CHARS, required=task == "text-to-image")
        if init is not None and not prompt:
            prompt = opts.get("default_prompt", "a high quality photo")
        steps = int(opts.get("steps", 20))
        strength = float(opts.get("strength", 0.6))
        if task == "image-to-image" and steps * strength < 1:
            steps = int(1 / strength) + 1  # diffusers needs at least one denoising step after strength
        folder = self.folder(ctx)
        choice = self.device(ctx)
        seed = int(opts.get("seed", random.randrange(2**31)))
        ctx.check_cancel()

        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            ctx.check_cancel()  # raising here stops the denoising loop: cancel takes effect per step
            ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
            return kwargs

        import torch

        with self.model(ctx, lambda: _load(task, folder, ctx.model.id, choice, ctx.settings), folder=folder,
                        device=choice, variant=(task,)) as lease:
            pipe = lease.model
            args: dict[str, Any] = {"prompt": prompt, "num_inference_steps": steps,
                                    "guidance_scale": float(opts.get("guidance_scale", 7.5)),
                                    "generator": torch.Generator("cpu").manual_seed(seed),
                                    "callback_on_step_end": on_step}
            if init is not None:
                size = int(opts.get("size", 512))
                args.update(image=init.resize(_fit(init.size, size)), strength=strength)
            else:
                args.update(height=int(opts.get("size", 512)), width=int(opts.get("size", 512)))
            try:
                image = pipe(**args).images[0]
            except Cancelled:
                raise
            except (ValueError, RuntimeError) as e:
                raise RunnerError(f"{ctx.model.id} failed: {str(e).splitlines()[0][:300]}") from None
        artifact = save_png(ctx, image)
        return TaskOutput(text=f"an image {image.width}x{image.height} of: {prompt[:80]}", files=[artifact],
                          data={"prompt": prompt, "seed": seed, "steps": steps, "device": choice.device,
                                "device_why": choice.why, "dtype": choice.dtype})


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """Scale so the longest side is `longest`, both sides multiples of 8 (what the VAE needs)."""
    w, h = size
    scale = longest / max(w, h)
    return max(8, round(w * scale / 8) * 8), max(8, round(h * scale / 8) * 8)
