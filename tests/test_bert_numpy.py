"""The NumPy BERT encoder gives the vectors transformers gives (all-MiniLM-L6-v2, packaged weights),
so the planner's retrieval needs no torch; the embedding runner uses it on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from core.llm import bert_numpy

pytestmark = pytest.mark.slow

TEXTS = ["Caption this photo and read it aloud.", "What is in this picture?",
         "Transcribe the meeting, then translate the transcript into Spanish.", "word " * 400]


@pytest.fixture(scope="module")
def folder():
    from core.models import catalog
    from core.models.locate import model_dir

    return model_dir(catalog.get("sentence-transformers/all-MiniLM-L6-v2"))


def test_numpy_matches_transformers(folder):
    from core.config import hardware
    from core.llm.encoder import _Encoder, _max_tokens

    assert bert_numpy.supports(folder)
    ours, cut = bert_numpy.load(folder, 256).encode(TEXTS)
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    ref = _Encoder(tok, AutoModel.from_pretrained(str(folder), use_safetensors=True).eval(),
                   hardware.choose_device("cpu").device, _max_tokens(folder, tok))
    theirs, theirs_cut = ref.encode(TEXTS)
    assert cut == theirs_cut == [False, False, False, True]
    assert np.abs(ours - theirs.numpy()).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    # Meaning, not just numbers: the two photo requests are closer to each other than to the meeting one.
    assert ours[0] @ ours[1] > ours[0] @ ours[2]


def test_cpu_encoder_works_without_torch_and_transformers(folder):
    """As in the base bundle, which leaves torch and transformers out: the planner can still embed."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
            "from core.llm.encoder import encode; from pathlib import Path; "
            f"v = encode(Path({str(folder)!r}), ['a cat on a mat']); "
            "print(v.shape, round(float((v * v).sum()), 4))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(1, 384) 1.0"


def test_not_a_plain_bert_is_left_to_transformers(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "roberta", "hidden_act": "gelu"}')
    assert not bert_numpy.supports(tmp_path)
    assert not bert_numpy.supports(tmp_path / "missing")
