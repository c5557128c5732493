"""One prompt renderer (core/llm/prompts.py): strict placeholders for every prompt file."""

import re

import pytest

from core.config.paths import PROMPTS_DIR
from core.errors import PromptError
from core.llm import prompts

ALL = sorted(str(p.relative_to(PROMPTS_DIR)) for p in PROMPTS_DIR.rglob("*.txt"))


@pytest.mark.parametrize("name", ALL)
def test_every_prompt_renders_with_its_placeholders_and_refuses_without(name):
    needed = prompts.placeholders(name)
    text = prompts.render(name, **{k: f"<<{k}>>" for k in needed})
    assert re.search(r"\$\{?[A-Za-z_]", text) is None  # no placeholder left unfilled
    assert all(f"<<{k}>>" in text for k in needed)
    for k in needed:
        with pytest.raises(PromptError, match=k):
            prompts.render(name, **{o: "x" for o in needed - {k}})


def test_the_llm_expert_gives_every_placeholder_its_prompts_use():
    given = {"text", "question", "labels", "src_lang", "tgt_lang", "mask"}  # core/execution/runners/llm_expert.py
    for name in ALL:
        if name.startswith("experts/"):
            assert prompts.placeholders(name) <= given, name


def test_a_prompt_outside_the_folder_or_missing_is_a_clear_error():
    with pytest.raises(PromptError, match="outside"):
        prompts.load("../README.md")
    with pytest.raises(PromptError, match="cannot be read"):
        prompts.load("no_such_prompt.txt")


def test_the_guard_prompt_takes_the_request():
    assert prompts.placeholders("respond_guard.txt") == {"request"}
    assert "tell me a joke" in prompts.render("respond_guard.txt", request="tell me a joke")
