"""Latency: planning p50 (warm), per-turn overhead of the pipeline, controller tokens/s.

- plan_p50_s / plan_p95_s: `n_plans` planning requests after one warm-up, as Planner reports them.
- overhead_ms: p50 over `n_turns` real `Engine.run_turn` calls of total wall time minus the time
  spent in the LLM and in runners (what Maestro itself adds: selection, scheduling, I/O, events).
- controller_tok_s vs raw_tok_s: generation speed through Maestro's controller wrapper and
  through llama-cpp-python directly, same model, same prompt, same token budget (warm both).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.taskbench_metrics import percentile

# Varied, realistic requests (Maestro's own), some with attachments.
PLAN_REQUESTS: list[tuple[str, list[str]]] = [
    ("Transcribe this recording and summarize it in three sentences", ["meeting.wav"]),
    ("What objects are in this photo? Read them out loud.", ["street.jpg"]),
    ("Translate 'Where is the train station?' into German", []),
    ("Draw a lighthouse on a cliff at sunset", []),
    ("Is this review positive or negative: 'The battery died after two days, awful.'", []),
    ("Describe the picture, then answer: how many people are in it?", ["party.png"]),
    ("Read the text in this scanned invoice and find the total amount", ["invoice.png"]),
    ("Summarize this article and translate the summary into French: Solar panels are now the "
     "cheapest source of electricity in many countries, and installations doubled last year.", []),
    ("Estimate the depth of this image and segment the objects in it", ["room.jpg"]),
    ("hi, how are you?", []),
]

TURN_REQUESTS: list[str] = [
    "Is this review positive or negative: 'I love how light this laptop is.'",
    "Find the named entities in: 'Marie Curie worked in Paris with Pierre Curie.'",
    "How similar are 'A man is riding a horse' and 'Someone rides a horse'?",
]

TOKENS_PROMPT = [{"role": "user", "content": "List five fruits, one per line, with their colour."}]


def _gen_speed_raw(llm: Any, messages: list[dict[str, str]], max_tokens: int) -> float:
    t0 = time.perf_counter()
    out = llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0)
    dt = time.perf_counter() - t0
    return out["usage"]["completion_tokens"] / dt if dt > 0 else 0.0


def token_speeds(controller: Any, max_tokens: int = 64) -> dict[str, Any]:
    """Generation tokens/s through the wrapper and raw, second (warm) call of each."""
    rep: dict[str, Any] = {}
    speeds = []
    for _ in range(2):
        c = controller.chat(TOKENS_PROMPT, max_tokens=max_tokens, temperature=0.0)
        speeds.append(c.completion_tokens / c.seconds if c.seconds > 0 else 0.0)
    rep["controller_tok_s"] = round(speeds[-1], 2)
    llm = getattr(controller, "_llm", None)
    if llm is not None:  # local llama.cpp: the same Llama object, called directly
        raw = [_gen_speed_raw(llm, TOKENS_PROMPT, max_tokens) for _ in range(2)]
        rep["raw_tok_s"] = round(raw[-1], 2)
        rep["wrapper_ratio"] = round(rep["controller_tok_s"] / rep["raw_tok_s"], 3) if raw[-1] else None
    return rep


def measure(controller_name: str = "", n_plans: int = 10, n_turns: int = 3,
            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from core.config.settings import settings_for_controller

    say = progress or (lambda _m: None)
    settings = settings_for_controller(controller_name)
    from core.engine.pipeline import Engine

    engine = Engine(settings=settings) if _accepts_settings(Engine) else Engine()
    planner = getattr(engine, "planner", None)
    if planner is None:
        from core.llm.controllers import load_controller
        from core.planning.planner import make_planner

        planner = make_planner(load_controller(settings))
    controller = getattr(planner, "controller", None)
    rep: dict[str, Any] = {"benchmark": "latency", "controller": getattr(controller, "name", "?")}

    say("warm-up plan")
    planner.plan(PLAN_REQUESTS[0][0], files=PLAN_REQUESTS[0][1])
    seconds: list[float] = []
    for i in range(n_plans):
        request, files = PLAN_REQUESTS[i % len(PLAN_REQUESTS)]
        out = planner.plan(request, files=files)
        seconds.append(float(out.seconds))
        say(f"plan {i + 1}/{n_plans}: {out.seconds:.2f}s {len(out.plan.tasks) if out.plan else 0} tasks"
            + (f" error: {out.error}" if out.error else ""))
    rep["plan_p50_s"] = round(percentile(seconds, 50) or 0.0, 3)
    rep["plan_p95_s"] = round(percentile(seconds, 95) or 0.0, 3)
    rep["n_plans"] = n_plans

    overheads, totals = [], []
    for i in range(n_turns):
        request = TURN_REQUESTS[i % len(TURN_REQUESTS)]
        result = engine.run_turn(request, [])
        tm = result.timings
        overhead = tm["total_s"] - tm.get("llm_s", 0.0) - tm.get("runners_s", 0.0)
        overheads.append(overhead * 1000.0)
        totals.append(tm["total_s"])
        say(f"turn {i + 1}/{n_turns}: total {tm['total_s']:.2f}s overhead {overhead * 1000:.0f} ms")
    rep["overhead_ms"] = round(percentile(overheads, 50) or 0.0, 1)
    rep["turn_p50_s"] = round(percentile(totals, 50) or 0.0, 3)
    rep["n_turns"] = n_turns

    if controller is not None:
        say("controller tokens/s")
        rep.update(token_speeds(controller))
    return rep


def _accepts_settings(cls: Any) -> bool:
    import inspect

    try:
        return "settings" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
