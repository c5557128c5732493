"""Greedy GBNF decoding by core/llm/decode.py against llama-cpp-python's own sampler chain,
on the real 1.5B controller: the same step lists, the grammar kept, cancel honoured, the KV cache
left consistent for prefix reuse."""

from __future__ import annotations

import threading

import pytest

from core.config.settings import Settings
from core.errors import Cancelled
from core.planning.step_planner import StepPlanner

pytestmark = pytest.mark.slow

REQUESTS = [
    ("Transcribe this recording and then summarize it", ["audio1.wav"]),
    ("Estimate the depth of this image and segment the objects in it", ["image1.jpg"]),
    ("Is this review positive or negative: 'The battery died after two days, awful.'", []),
]


@pytest.fixture(scope="module")
def planner():
    from core.llm.controllers import load_controller

    p = StepPlanner(load_controller(Settings()))
    p.warm()
    return p


def _chat(planner, request, files, fast):
    """The planner's own decode call (its step grammar) on its prompt for `request` (the fixed
    prefix and the request: the shipped planner retrieves no demos)."""
    c = planner.controller
    c.fast_greedy = fast
    msgs = planner.messages(request, files, "", [])
    c.prime(planner.prefix())
    try:
        return c.chat(msgs, max_tokens=planner.max_tokens, temperature=0.0, grammar=planner.grammar)
    finally:
        c.fast_greedy = True


@pytest.mark.parametrize("request_text,files", REQUESTS)
def test_same_plan_as_the_sampler_chain(planner, request_text, files):
    chain = _chat(planner, request_text, files, fast=False)
    planner.controller.last_decode = None  # set again only by the fast path
    fast = _chat(planner, request_text, files, fast=True)
    assert fast.text == chain.text and fast.text.startswith("1 ")
    assert fast.finish_reason == "stop" and fast.completion_tokens == chain.completion_tokens
    assert planner.controller.last_decode is not None and planner.controller.last_decode.tokens


def test_a_grammar_that_forbids_the_favourite_token_is_obeyed(planner):
    c = planner.controller
    c.last_decode = None
    out = c.chat([{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0.0,
                 grammar='root ::= "yes" | "no"')
    assert out.text in ("yes", "no") and c.last_decode.full_grammar_passes >= 1


def test_cancel_stops_and_the_cache_stays_usable(planner):
    c = planner.controller
    before = planner.plan("Transcribe this recording and then summarize it", ["meeting.wav"])
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        c.chat([{"role": "user", "content": "Count to fifty."}], max_tokens=64, temperature=0.0,
               grammar='root ::= [0-9 ]+', cancel=stop)
    outcome = planner.plan("Transcribe this recording and then summarize it", ["meeting.wav"])
    # the KV state left by the cancelled call changes nothing: the same steps, the same plan
    assert outcome.ok and outcome.raw == before.raw and outcome.plan.to_dict() == before.plan.to_dict()
    assert outcome.plan.tasks[0].task == "automatic-speech-recognition"

