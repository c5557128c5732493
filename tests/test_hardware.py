"""Device choice, ORT providers and the memory budget, with the reason for each."""

from __future__ import annotations

from core.config import hardware


def test_detect_reports_this_machine():
    hw = hardware.detect()
    assert hw.cpu_count >= 1 and hw.ram_bytes > 2**28 and 0 < hw.ram_available_bytes <= hw.ram_bytes


def test_cpu_setting_forces_cpu_in_float32():
    choice = hardware.choose_device("cpu")
    assert (choice.device, choice.dtype) == ("cpu", "float32") and "setting" in choice.why


def test_gpu_request_without_gpu_falls_back_with_a_reason(monkeypatch):
    monkeypatch.setattr(hardware, "_torch_gpus", lambda: (False, "", False))
    choice = hardware.choose_device("cuda")
    assert choice.device == "cpu" and "no CUDA GPU" in choice.why


def test_auto_takes_cuda_in_half_precision_when_present(monkeypatch):
    monkeypatch.setattr(hardware, "_torch_gpus", lambda: (True, "Test GPU", False))
    choice = hardware.choose_device("auto")
    assert (choice.device, choice.dtype) == ("cuda", "float16") and "Test GPU" in choice.why


def test_env_overrides_setting(monkeypatch):
    monkeypatch.setenv("MAESTRO_DEVICE", "cpu")
    monkeypatch.setattr(hardware, "_torch_gpus", lambda: (True, "Test GPU", False))
    assert hardware.choose_device("cuda").device == "cpu"


def test_auto_on_this_machine_is_real():
    import torch

    choice = hardware.choose_device("auto")
    assert choice.device == ("cuda" if torch.cuda.is_available() else choice.device)
    assert choice.dtype == ("float16" if choice.device != "cpu" else "float32")


def test_ort_providers_in_order_and_installed():
    import onnxruntime as ort

    providers = hardware.ort_providers("auto")
    assert providers[-1] == "CPUExecutionProvider" or providers == ["CPUExecutionProvider"]
    assert set(providers) <= set(ort.get_available_providers())
    order = [hardware.ORT_ORDER.index(p) for p in providers]
    assert order == sorted(order)
    assert hardware.ort_providers("cpu") == ["CPUExecutionProvider"]


def test_memory_budget_setting_and_default(monkeypatch):
    monkeypatch.delenv("MAESTRO_MEMORY_BUDGET_GB", raising=False)
    assert hardware.memory_budget(2.0) == (2 * 2**30, "the memory budget setting")
    budget, why = hardware.memory_budget(0.0, "cpu")
    assert budget == int(hardware.detect().ram_bytes * 0.7) and "RAM" in why


def test_run_preference():
    assert hardware.run_preference("cuda", {"device": "cpu"}) == "cuda"
    assert hardware.run_preference("cpu", {"device": "cpu"}) == "cpu"
    assert hardware.run_preference("cpu", {}) == "auto"


def test_ctranslate2_on_cpu_uses_int8():
    choice = hardware.ctranslate2_device("cpu")
    assert (choice.device, choice.dtype) == ("cpu", "int8")


def test_ort_provider_override(monkeypatch):
    monkeypatch.setenv("MAESTRO_ORT_PROVIDERS", "NoSuchExecutionProvider, CPUExecutionProvider")
    assert hardware.ort_providers("auto") == ["CPUExecutionProvider"]
    monkeypatch.setenv("MAESTRO_ORT_PROVIDERS", "NoSuchExecutionProvider")
    assert hardware.ort_providers("auto") == ["CPUExecutionProvider"]  # the CPU is always the last resort


def test_summary_is_json_ready():
    import json

    info = json.loads(json.dumps(hardware.summary("auto")))
    assert info["device"]["device"] in ("cpu", "cuda", "mps") and info["device"]["why"]
    assert info["memory_budget_bytes"] > 0 and info["ort_providers"][-1] == "CPUExecutionProvider"


def _cpuinfo(pairs):
    return "\n\n".join(f"processor\t: {i}\nphysical id\t: {p}\ncore id\t\t: {c}" for i, (p, c) in enumerate(pairs))


def test_physical_cores_count_hyperthread_siblings_once(monkeypatch):
    monkeypatch.setattr(hardware, "usable_cpus", lambda: 16)
    assert hardware.physical_cores(_cpuinfo([(0, 0), (0, 0), (0, 1), (0, 1)])) == 2
    assert hardware.physical_cores(_cpuinfo([(0, 0), (0, 1), (1, 0), (1, 1)])) == 4  # two sockets
    assert hardware.physical_cores("") == 0  # no core ids (not Linux): unknown, llama.cpp guesses


def test_physical_cores_never_exceed_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(hardware, "usable_cpus", lambda: 2)
    assert hardware.physical_cores(_cpuinfo([(0, i) for i in range(8)])) == 2
    assert 0 <= hardware.physical_cores() <= hardware.usable_cpus()
