"""automatic-speech-recognition with Whisper models converted for CTranslate2 (faster-whisper)."""

from __future__ import annotations

from typing import Any

from core.config import hardware
from core.errors import RunnerError
from core.execution.runners.base import RunContext, Runner
from core.execution.runners.media import load_audio
from core.results import TaskOutput

SAMPLE_RATE = 16_000  # what Whisper's feature extractor expects


class WhisperRunner(Runner):
    runtime = "faster-whisper"

    def device(self, ctx: RunContext) -> hardware.DeviceChoice:
        return hardware.ctranslate2_device(self.preference(ctx))  # CTranslate2's own devices, int8 on CPUs

    def run_task(self, ctx: RunContext, inputs: dict[str, Any]) -> TaskOutput:
        audio = load_audio(inputs, "audio", SAMPLE_RATE)  # decode first: bad files fail before loading
        folder = self.folder(ctx)
        choice = self.device(ctx)
        threads = int(ctx.settings.get("threads", 0) or 0)

        def load() -> Any:
            from faster_whisper import WhisperModel

            try:
                return WhisperModel(str(folder), device=choice.device, compute_type=choice.dtype,
                                    cpu_threads=threads)
            except (RuntimeError, ValueError, OSError) as e:
                raise RunnerError(f"could not load {ctx.model.id}: {e}") from None

        ctx.check_cancel()
        with self.model(ctx, load, folder=folder, device=choice) as lease:
            ctx.progress(0.0, "transcribing" if not lease.loaded else f"model loaded in {lease.load_s:.1f}s; transcribing")
            language = ctx.model.options.get("language")
            segments_iter, info = lease.model.transcribe(audio, language=language, beam_size=5,
                                                         vad_filter=False, condition_on_previous_text=False)
            duration = max(info.duration, 1e-6)
            segments = []
            for seg in segments_iter:  # lazy: decoding happens while iterating, so cancel works here
                ctx.check_cancel()
                segments.append({"start": round(seg.start, 2), "end": round(seg.end, 2), "text": seg.text.strip()})
                ctx.progress(min(seg.end / duration, 1.0), seg.text.strip()[:60])
        transcript = " ".join(s["text"] for s in segments if s["text"]).strip()
        data = {"transcript": transcript, "language": info.language, "duration_s": round(info.duration, 2),
                "segments": segments, "device": choice.device, "device_why": choice.why, "compute_type": choice.dtype}
        return TaskOutput(text=transcript or "(no speech recognised)", data=data)
