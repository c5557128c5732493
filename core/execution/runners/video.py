"""text-to-video with diffusers' text-to-video pipelines (ModelScope's UNet3D family: damo-vilab,
zeroscope), frames written as an H.264 MP4 (yuv420p, plays in Qt and browsers) with PyAV.

Frames, steps, size and fps come from the catalog entry (a laptop CPU needs minutes for 16 frames at
256 px); progress is reported per denoising step and cancel is honoured between steps. Safetensors
only unless allowed for the model, never remote code."""

from __future__ import annotations

import random
from typing import Any

from core.config import hardware
from core.errors import Cancelled, RunnerError
from core.execution.runners.base import RunContext, Runner, write_atomic
from core.execution.runners.media import text_arg
from core.execution.runners.transformers_runner import weights_policy
from core.results import Artifact, TaskOutput

MAX_PROMPT_CHARS = 1000  # CLIP reads 77 tokens; a longer "prompt" is a planning mistake
MAX_FRAMES = 64


def _load(folder: Any, model_id: str, choice: hardware.DeviceChoice, settings: dict[str, Any]) -> Any:
    from diffusers import DiffusionPipeline

    safe = weights_policy(folder, model_id, settings)
    try:
        pipe = DiffusionPipeline.from_pretrained(str(folder), dtype=hardware.torch_dtype(choice),
                                                 trust_remote_code=False, **({"use_safetensors": True} if safe else {}))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RunnerError(f"could not load {model_id} for text-to-video: {str(e).splitlines()[0][:300]}") from None
    if not hasattr(pipe, "unet") or "video" not in type(pipe).__name__.lower():
        raise RunnerError(f"{model_id} is a {type(pipe).__name__}, not a text-to-video pipeline")
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(choice.device)


def write_mp4(frames: Any, path: Any, fps: int) -> int:
    """uint8 frames [n, h, w, 3] -> H.264 MP4 bytes written atomically; returns the byte count."""
    import io

    import av

    buf = io.BytesIO()
    n, h, w = frames.shape[:3]
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = w - w % 2, h - h % 2  # yuv420p needs even sides
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(frame[: stream.height, : stream.width], format="rgb24")
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = buf.getvalue()
    write_atomic(path, data)
    return len(data)


class TextToVideoRunner(Runner):
    runtime = "diffusers-video"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        import numpy as np

        prompt = text_arg(inputs, "text", MAX_PROMPT_CHARS)
        opts = ctx.model.options or {}
        frames_n = int(opts.get("frames", 16))
        if not 1 <= frames_n <= MAX_FRAMES:
            raise RunnerError(f"frames must be between 1 and {MAX_FRAMES}, got {frames_n}")
        steps, size, fps = int(opts.get("steps", 12)), int(opts.get("size", 256)), int(opts.get("fps", 8))
        seed = int(opts.get("seed", random.randrange(2**31)))
        folder = self.folder(ctx)
        choice = self.device(ctx)
        ctx.check_cancel()

        def on_step(step: int, timestep: Any, latents: Any) -> None:  # these pipelines take the legacy callback
            ctx.check_cancel()  # raising here stops the denoising loop
            ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")

        import torch

        with self.model(ctx, lambda: _load(folder, ctx.model.id, choice, ctx.settings), folder=folder,
                        device=choice) as lease:
            try:
                result = lease.model(prompt=prompt, num_frames=frames_n, num_inference_steps=steps, height=size,
                                     width=size, guidance_scale=float(opts.get("guidance_scale", 9.0)),
                                     generator=torch.Generator("cpu").manual_seed(seed), output_type="np",
                                     callback=on_step, callback_steps=1)
            except Cancelled:
                raise
            except (ValueError, RuntimeError) as e:
                raise RunnerError(f"{ctx.model.id} failed: {str(e).splitlines()[0][:300]}") from None
        frames = np.asarray(result.frames)
        frames = frames[0] if frames.ndim == 5 else frames  # [batch, n, h, w, 3] -> [n, h, w, 3]
        frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
        path = ctx.artifact_path(".mp4")
        nbytes = write_mp4(frames, path, fps)
        seconds = len(frames) / fps
        return TaskOutput(text=f"a {seconds:.1f} s video ({len(frames)} frames, {frames.shape[2]}x{frames.shape[1]}) "
                               f"of: {prompt[:80]}", files=[Artifact(path, "video", "video/mp4")],
                          data={"prompt": prompt, "seed": seed, "steps": steps, "frames": len(frames), "fps": fps,
                                "bytes": nbytes, "device": choice.device, "dtype": choice.dtype})
