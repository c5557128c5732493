"""The llama.cpp build runs on the CPU it lands on: one CPU backend per feature level, the OS's word
on which features are enabled, a start-up decode of a ~300-token prompt in a child process, and
the next variant down when that child crashes."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from core.llm import backend as lb


def test_variants_need_what_the_os_reports():
    avx512_no_amx = set(lb.X86_VARIANTS["icelake"])
    assert lb.os_allows("icelake", avx512_no_amx) is None
    assert lb.os_allows("haswell", avx512_no_amx) is None
    assert "avx512_bf16" in lb.os_allows("sapphirerapids", avx512_no_amx)
    # A CPU whose kernel did not enable AVX-512 state reports no avx512 flags: AVX2 only.
    avx2 = set(lb.X86_VARIANTS["haswell"])
    assert "avx512f" in lb.os_allows("skylakex", avx2)
    assert lb.os_allows("x64", set()) is None  # the baseline needs nothing
    assert lb.os_allows("haswell", set()) == "CPU features cannot be read"


def test_amx_flags_without_the_kernel_grant_are_refused(monkeypatch):
    flags = set(lb.X86_VARIANTS["sapphirerapids"])
    monkeypatch.setattr(lb, "amx_permitted", lambda: False)
    assert lb.os_allows("sapphirerapids", flags) == "the kernel does not grant AMX tile state"
    monkeypatch.setattr(lb, "amx_permitted", lambda: True)
    assert lb.os_allows("sapphirerapids", flags) is None


def test_variants_in_a_build_are_listed_best_first(tmp_path):
    for v in ("x64", "haswell", "skylakex", "sse42"):
        (tmp_path / f"libggml-cpu-{v}.so").write_bytes(b"")
    assert lb.variants_in(tmp_path) == ["skylakex", "haswell", "sse42", "x64"]
    assert lb.variants_in(None) == [] and lb.variants_in(tmp_path / "nothing") == []


def test_signals_in_plain_words():
    assert lb.signal_words(-signal.SIGILL).startswith("SIGILL (illegal instruction")
    assert lb.signal_words(-signal.SIGKILL).startswith("SIGKILL (killed")
    assert lb.signal_words(3) == "exit status 3"


def test_the_installed_build_is_portable():
    """make's build has every CPU level (the baseline included) and no single native CPU backend."""
    folder = lb.lib_dir()
    assert folder is not None, "llama-cpp-python is not installed"
    found = lb.variants_in(folder)
    assert {"x64", "sse42", "haswell", "skylakex", "icelake", "sapphirerapids"} <= set(found), found
    assert not (folder / "libggml-cpu.so").exists()  # that would be the one-CPU (native) build


@pytest.fixture
def controller_path() -> Path:
    from core.config.settings import load_settings
    from core.llm.controllers import controller_model_path

    return controller_model_path(load_settings().controller)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "llama-cpu.json"
    monkeypatch.setattr(lb, "_cache_path", lambda: path)
    monkeypatch.delenv(lb.FORCE_ENV, raising=False)
    return path


@pytest.mark.slow
def test_check_decodes_a_long_prompt_in_a_child(controller_path):
    folder = lb.lib_dir()
    best = next(v for v in lb.variants_in(folder) if lb.os_allows(v, lb.cpu_flags()) is None)
    attempt = lb.run_check(folder, best, controller_path)
    assert attempt.ok, attempt.why
    assert attempt.prompt_tokens >= 250


@pytest.mark.slow
def test_a_crashing_variant_falls_back_to_the_next_and_the_verdict_is_cached(controller_path, cache, monkeypatch):
    folder = lb.lib_dir()
    candidates = [v for v in lb.variants_in(folder) if lb.os_allows(v, lb.cpu_flags()) is None]
    monkeypatch.setenv(lb.CRASH_ENV, candidates[0])  # its check child dies of SIGILL, as AMX did
    choice = lb.choose(controller_path, folder)
    assert choice.how == "checked" and choice.variant == candidates[1]
    assert [a.variant for a in choice.attempts] == candidates[:2]
    assert not choice.attempts[0].ok and choice.attempts[0].why.startswith("SIGILL")
    assert choice.attempts[1].ok and choice.attempts[1].prompt_tokens >= 250
    assert f"{candidates[0]} failed the start-up check: SIGILL" in choice.describe()
    # The next start on this build + CPU reads the verdict instead of checking again.
    again = lb.choose(controller_path, folder)
    assert (again.how, again.variant) == ("cached", candidates[1])
    assert again.attempts[0].why.startswith("SIGILL")


def test_forced_variant_and_unknown_names(cache, monkeypatch):
    folder = lb.lib_dir()
    monkeypatch.setenv(lb.FORCE_ENV, "haswell")
    assert lb.choose(None, folder).how == "forced"
    monkeypatch.setenv(lb.FORCE_ENV, "pentium4")
    with pytest.raises(RuntimeError, match="not in this build"):
        lb.choose(None, folder)


@pytest.mark.slow
def test_controller_reads_a_long_prompt_in_process(controller_path):
    """After the choice, the controller in this process reads a ~400-token prompt and answers."""
    from core.llm.controllers import LlamaCppController

    controller = LlamaCppController(controller_path, n_ctx=2048)
    assert controller.backend.variant in lb.variants_in(lb.lib_dir())
    text = " ".join(f"Item {i}: the {w} box is on shelf {i % 7}." for i, w in
                    enumerate(["red", "blue", "green", "white", "black"] * 8))
    reply = controller.chat([{"role": "user", "content": text + "\nWhich shelf holds item 3? One number."}],
                            max_tokens=8)
    assert reply.prompt_tokens >= 300, reply.prompt_tokens
    assert "3" in reply.text
