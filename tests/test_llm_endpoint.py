"""OpenAICompatController against a real llama.cpp server process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from core.errors import Cancelled, ControllerError
from core.llm.controllers import OpenAICompatController, controller_model_path
from core.planning.step_planner import StepPlanner

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = controller_model_path("qwen2.5-coder-0.5b")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    from core.llm.backend import env_for_llama_process

    env = {**os.environ, **env_for_llama_process(model)}  # the same checked CPU build as Maestro's
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--model_alias", "qwen-0.5b"],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)  # a pipe would fill up and block it
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("llama_cpp.server exited: " + log.read_text(errors="replace")[-2000:])
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def test_streams_tokens(server):
    c = OpenAICompatController(server, "qwen-0.5b")
    pieces: list[str] = []
    out = c.chat([{"role": "user", "content": "Say the word 'banana' and nothing else."}],
                 max_tokens=16, on_token=pieces.append)
    assert "banana" in out.text.lower()
    assert len(pieces) >= 1 and "".join(pieces) == out.text


def test_structured_output_follows_the_schema(server):
    c = OpenAICompatController(server, "qwen-0.5b")
    schema = {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]}},
              "required": ["city"]}
    value = c.complete_json([{"role": "user", "content": "Which city is the capital of Italy? Reply in JSON."}],
                            schema, max_tokens=32)
    assert value["city"] in ("Paris", "Rome")


def test_plans_through_the_endpoint(server):
    planner = StepPlanner(OpenAICompatController(server, "qwen-0.5b"))  # no GBNF: plain steps
    outcome = planner.plan("Transcribe interview.wav", ["interview.wav"])
    assert outcome.ok, outcome.error
    assert outcome.plan.tasks and outcome.plan.tasks[0].task in planner.known_tasks
    json.dumps(outcome.plan.to_dict())


def test_cancel_stops_streaming(server):
    c = OpenAICompatController(server, "qwen-0.5b")
    cancel = threading.Event()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        c.chat([{"role": "user", "content": "Count from 1 to 200."}], max_tokens=400,
               cancel=cancel, on_token=on_token)
    assert len(seen) < 10


def test_unreachable_endpoint_is_a_clear_error():
    c = OpenAICompatController(f"http://127.0.0.1:{_free_port()}/v1", "x", api_key="sk-secret")
    with pytest.raises(ControllerError, match="cannot reach controller endpoint") as exc:
        c.chat([{"role": "user", "content": "hi"}], max_tokens=4)
    assert "sk-secret" not in str(exc.value) and "sk-secret" not in repr(c)
