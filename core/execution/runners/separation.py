"""audio-to-audio with Asteroid's separation models from the Hub (ConvTasNet, DPRNN-TasNet, DPTNet):
source separation ("sepclean": one WAV per voice) and single-speaker enhancement ("enhsingle").

Asteroid checkpoints are `pytorch_model.bin` pickles holding {model_name, model_args, state_dict}.
Like every pickle they run only for model ids the user allowed (settings.allow_pickle_models), and even
then they are opened with torch.load(weights_only=True), which refuses anything but tensors and plain
data. The asteroid package is installed without its training dependencies (lightning, torchaudio): its
model classes need only torch and asteroid-filterbanks for inference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_audio, save_wav
from core.results import TaskOutput

ARCHITECTURES = ("ConvTasNet", "DPRNNTasNet", "DPTNet")  # the ones that build and run on torch 2.13 here
MAX_SECONDS = 10 * 60
SILENT_PEAK = 10 ** (-60 / 20)


def _weights(folder: Path, model_id: str, settings: dict[str, Any]) -> Path:
    path = folder / "pytorch_model.bin"
    if not path.is_file():
        raise RunnerError(f"{model_id} has no pytorch_model.bin (an Asteroid checkpoint) in {folder.name}")
    if model_id not in (settings.get("allow_pickle_models") or []):
        raise RunnerError(f"{model_id} only has pickle weights (pytorch_model.bin), which can run code when loaded; "
                          "Maestro refuses them unless you allow this model in Settings -> allow pickle models")
    return path


def load(path: Path, model_id: str) -> Any:
    import torch

    try:
        conf = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, ValueError) as e:  # includes pickles that try to build other objects
        raise RunnerError(f"{model_id}: the checkpoint is not plain weights ({str(e).splitlines()[0][:200]})") from None
    name = conf.get("model_name") if isinstance(conf, dict) else None
    if name not in ARCHITECTURES:
        raise RunnerError(f"{model_id} is an Asteroid {name or 'checkpoint of unknown kind'}; Maestro runs "
                          f"{', '.join(ARCHITECTURES)}")
    from asteroid import models

    try:
        model = getattr(models, name).from_pretrained(conf)
    except (RuntimeError, TypeError, ValueError, KeyError) as e:
        raise RunnerError(f"could not load {model_id}: {str(e).splitlines()[0][:300]}") from None
    return model.eval()


class AsteroidRunner(Runner):
    runtime = "asteroid"

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        import numpy as np
        import torch

        folder = self.folder(ctx)
        path = _weights(folder, ctx.model.id, ctx.settings)  # checked on every run, also when warm
        with self.model(ctx, lambda: load(path, ctx.model.id), folder=folder, device="cpu") as lease:
            model = lease.model
            rate = int(getattr(model, "sample_rate", 0) or 16_000)
            audio = load_audio(inputs, "audio", rate, MAX_SECONDS)
            if float(np.abs(audio).max()) < SILENT_PEAK:
                raise RunnerError("the audio is silent: there is nothing to separate or clean up")
            ctx.check_cancel()
            ctx.progress(None, f"separating {len(audio) / rate:.0f}s of audio")
            with torch.inference_mode():
                sources = model(torch.from_numpy(audio)[None]).float().cpu().numpy()[0]  # [n_src, samples]
        files = []
        for i, src in enumerate(sources):
            peak = float(np.abs(src).max()) or 1.0
            files.append(save_wav(ctx, src / peak * 0.9, rate, stem=f"task{ctx.task_id}-source{i + 1}"))
        n = len(files)
        text = (f"separated {len(audio) / rate:.1f} s of audio into {n} sources" if n > 1
                else f"enhanced {len(audio) / rate:.1f} s of speech")
        return TaskOutput(text=text, files=files, data={"sources": n, "sample_rate": rate})
