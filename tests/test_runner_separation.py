"""audio-to-audio with Asteroid checkpoints from the loopback Hub: a tiny ConvTasNet with RANDOM weights in
Asteroid's checkpoint layout ({model_name, model_args, state_dict} in pytorch_model.bin). Its outputs are
noise: only the mechanics are asserted (the pickle permission, weights-only loading, one WAV per source
at the model's rate, errors for silent audio and for architectures Maestro does not run)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import RunnerError
from core.execution.runners import get_runner
from core.models import hub
from core.models.entry import ModelEntry
from tests.hubserver import hub_server  # noqa: F401 - fixture
from tests.runner_support import make_ctx, speak

pytestmark = pytest.mark.slow
REPO = "maestro-test/tiny-convtasnet"


def _checkpoint(folder, name="ConvTasNet"):
    import torch
    from asteroid.models import ConvTasNet

    torch.manual_seed(0)
    model = ConvTasNet(n_src=2, n_filters=16, kernel_size=16, stride=8, bn_chan=8, hid_chan=16, skip_chan=8,
                       n_blocks=2, n_repeats=1, sample_rate=8000)
    folder.mkdir(parents=True)
    torch.save({"model_name": name, "model_args": model.get_model_args(), "state_dict": model.state_dict()},
               folder / "pytorch_model.bin")
    return folder


@pytest.fixture
def entry(hub_server, tmp_path):  # noqa: F811
    hub_server.add_folder(REPO, _checkpoint(tmp_path / "build"))
    hub.get_model(REPO, files=["pytorch_model.bin"])
    return ModelEntry(REPO, "audio-to-audio", "asteroid")


def _run(entry, inputs, tmp_path, allow=True):
    ctx = make_ctx(entry, tmp_path / "s")
    if allow:
        ctx.settings["allow_pickle_models"] = [entry.id]
    return get_runner("asteroid").run(ctx, inputs), ctx


def test_two_sources_at_the_models_rate(entry, tmp_path):
    import soundfile as sf

    speech = speak("hello world, this is a test", tmp_path / "speech.wav")
    with pytest.raises(RunnerError, match="pickle"):
        _run(entry, {"audio": speech}, tmp_path, allow=False)
    out, ctx = _run(entry, {"audio": speech}, tmp_path)
    assert out.data["sources"] == 2 and out.data["sample_rate"] == 8000
    lengths = set()
    for f in out.files:
        data, rate = sf.read(f.path, dtype="float32")
        assert rate == 8000 and f.path.parent == ctx.artifacts_dir.resolve() and np.abs(data).max() > 0
        lengths.add(len(data))
    assert len(lengths) == 1
    with pytest.raises(RunnerError, match="pickle"):  # warm in the pool, the permission is checked again
        _run(entry, {"audio": speech}, tmp_path, allow=False)


def test_silent_audio_and_unknown_architectures_are_refused(entry, hub_server, tmp_path):  # noqa: F811
    import soundfile as sf

    sf.write(tmp_path / "silent.wav", np.zeros(8000, np.float32), 8000)
    with pytest.raises(RunnerError, match="silent"):
        _run(entry, {"audio": tmp_path / "silent.wav"}, tmp_path)
    hub_server.add_folder("maestro-test/odd", _checkpoint(tmp_path / "odd", "DCCRNet"))
    hub.get_model("maestro-test/odd", files=["pytorch_model.bin"])
    odd = ModelEntry("maestro-test/odd", "audio-to-audio", "asteroid")
    with pytest.raises(RunnerError, match="Maestro runs ConvTasNet"):
        _run(odd, {"audio": speak("hello", tmp_path / "h.wav")}, tmp_path)
