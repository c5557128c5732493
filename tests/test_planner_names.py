"""File names are not content: the planner plans on neutral aliases and checks copied texts."""

from __future__ import annotations

from core.plan import Plan, Task
from core.planner import alias_files, swap_names, ungrounded_texts


def test_media_files_get_neutral_aliases_and_back():
    m = alias_files(["cat.png", "talk.wav", "notes.txt"], "Is the cat.png photo like dog.jpg?")
    assert m == {"cat.png": "image1.png", "talk.wav": "audio1.wav", "dog.jpg": "image2.jpg"}
    text = swap_names("Is the cat.png photo like dog.jpg? not bobcat.png", m)
    assert text == "Is the image1.png photo like image2.jpg? not bobcat.png"
    assert swap_names(text, {v: k for k, v in m.items()}) == "Is the cat.png photo like dog.jpg? not bobcat.png"


def test_aliases_never_chain_into_each_other():
    m = alias_files(["image2.png", "image1.png"], "")
    assert m == {"image2.png": "image1.png", "image1.png": "image2.png"}
    assert swap_names("image2.png then image1.png", m) == "image1.png then image2.png"


def test_a_text_that_is_not_in_the_request_is_a_problem():
    plan = Plan([Task(1, "text-to-speech", [], {"text": "cat"}),
                 Task(2, "translation", [], {"text": "Where is the station?", "tgt_lang": "es"}),
                 Task(3, "summarization", [1], {"text": "<resource>-1"})])
    problems = ungrounded_texts(plan, "What animal is this? Translate 'Where is the station?' too")
    assert len(problems) == 1 and problems[0].startswith('task 1: the text "cat"')
