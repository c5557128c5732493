"""The controller's prefix KV states on disk (core/llm/controllers.py): written whole or not at
all, checked on read, and pruned so that old prompts' states (~70 MB each) do not pile up."""

from __future__ import annotations

import os

import numpy as np

from core.llm.controllers import LlamaCppController, prune_states


def _state(n: int = 5) -> tuple[np.ndarray, bytes]:
    return np.arange(n, dtype=np.int32), bytes(range(200))


def test_a_state_round_trips_and_a_corrupt_one_is_dropped(tmp_path):
    path = tmp_path / "a.kvstate"
    LlamaCppController._write_state(path, _state())
    ids, raw = LlamaCppController._read_state(path)
    assert ids.tolist() == [0, 1, 2, 3, 4] and raw == bytes(range(200))
    assert not list(tmp_path.glob("*.tmp"))
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert LlamaCppController._read_state(path) is None and not path.exists()


def test_only_the_newest_states_are_kept_and_reading_one_makes_it_new(tmp_path):
    LlamaCppController._write_state(tmp_path / "s0.kvstate", _state())
    valid = (tmp_path / "s0.kvstate").read_bytes()
    for k in range(6):
        p = tmp_path / f"s{k}.kvstate"
        p.write_bytes(valid)
        os.utime(p, (1000 + k, 1000 + k))
    (tmp_path / "other.npy").write_bytes(b"x")  # not a state: never touched
    assert LlamaCppController._read_state(tmp_path / "s0.kvstate") is not None  # in use again
    prune_states(tmp_path, keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.npy", "s0.kvstate", "s4.kvstate", "s5.kvstate"]
    LlamaCppController._write_state(tmp_path / "s6.kvstate", _state())  # a write prunes to KEEP_STATES
    assert len(list(tmp_path.glob("*.kvstate"))) == 4
