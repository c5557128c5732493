"""Every plan validation rule, parsing of HuggingGPT's formats, and topological order."""

import pytest

from core.errors import PLAN_PROBLEM_CODES, PlanError, PlanProblem
from core.plan import parse_plan, validate_plan


def problems_of(raw) -> list[PlanProblem]:
    with pytest.raises(PlanError) as exc:
        validate_plan(parse_plan(raw))
    assert exc.value.code == "invalid_plan"
    return exc.value.problems


def codes_of(raw) -> list[tuple[str, int | None]]:
    """(code, task id) of each problem: what code acts on, not the sentence."""
    return [(p.code, p.task_id) for p in problems_of(raw)]


def test_valid_chain_passes_and_orders():
    plan = parse_plan({"tasks": [
        {"id": 2, "task": "summarization", "dep": [1], "args": {"text": "<resource>-1"}},
        {"id": 1, "task": "automatic-speech-recognition", "dep": [], "args": {"audio": "a.wav"}},
    ]})
    validate_plan(plan)
    assert [t.id for t in plan.topological()] == [1, 2]


def test_hugginggpt_format_is_accepted():
    raw = ('Sure! [{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "cat.jpg"}}, '
           '{"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}}] Done.')
    plan = parse_plan(raw)
    assert plan.tasks[0].dep == []
    assert plan.tasks[1].args["text"] == "<resource>-0"
    validate_plan(plan)


def test_task_name_spellings_are_normalised():
    plan = parse_plan([{"id": 1, "task": "Image Classification", "dep": [], "args": {"image": "x.png"}}])
    assert plan.tasks[0].task == "image-classification"


def test_duplicate_ids():
    assert codes_of([
        {"id": 1, "task": "summarization", "dep": [], "args": {"text": "a"}},
        {"id": 1, "task": "summarization", "dep": [], "args": {"text": "b"}}]) == [("duplicate_id", 1)] * 2


def test_unknown_task():
    found = problems_of([{"id": 1, "task": "make-coffee", "dep": [], "args": {}}])
    assert [(p.code, p.task_id) for p in found] == [("unknown_task", 1)]
    assert str(found[0]) == "task 1: unknown task 'make-coffee'"


def test_unknown_task_relative_to_installed_runners():
    plan = parse_plan([{"id": 1, "task": "text-to-image", "dep": [], "args": {"text": "a cat"}}])
    with pytest.raises(PlanError, match="unknown task 'text-to-image'"):
        validate_plan(plan, known_tasks={"summarization"})


def test_missing_dep_task():
    found = problems_of([{"id": 1, "task": "summarization", "dep": [7], "args": {"text": "a"}}])
    assert [(p.code, p.task_id) for p in found] == [("missing_dep", 1)]
    assert "depends on 7, which is not another task" in found[0].message


def test_dangling_resource():
    found = problems_of([{"id": 1, "task": "summarization", "dep": [], "args": {"text": "<resource>-5"}}])
    assert [(p.code, p.task_id) for p in found] == [("dangling_ref", 1)]
    assert "<resource>-5, which is not a task" in found[0].message


def test_resource_not_in_dep():
    assert codes_of([
        {"id": 1, "task": "summarization", "dep": [], "args": {"text": "hello"}},
        {"id": 2, "task": "translation", "dep": [], "args": {"text": "<resource>-1"}}]) == [("ref_not_in_dep", 2)]


def test_cycle():
    assert codes_of([
        {"id": 1, "task": "summarization", "dep": [2], "args": {"text": "<resource>-2"}},
        {"id": 2, "task": "translation", "dep": [1], "args": {"text": "<resource>-1"}},
        {"id": 3, "task": "summarization", "dep": [], "args": {"text": "fine"}}]) == [("cycle", 1), ("cycle", 2)]


def test_self_dependency():
    assert codes_of([{"id": 1, "task": "summarization", "dep": [1], "args": {"text": "x"}}]) == [("self_dep", 1)]


def test_modality_mismatch():
    found = problems_of([
        {"id": 1, "task": "automatic-speech-recognition", "dep": [], "args": {"audio": "a.wav"}},
        {"id": 2, "task": "image-classification", "dep": [1], "args": {"image": "<resource>-1"}}])
    assert [(p.code, p.task_id) for p in found] == [("modality", 2)]
    assert "needs image, but task 1 (automatic-speech-recognition) outputs text" in found[0].message


def test_detection_image_output_feeds_an_image_arg():
    validate_plan(parse_plan([
        {"id": 1, "task": "object-detection", "dep": [], "args": {"image": "a.png"}},
        {"id": 2, "task": "image-to-text", "dep": [1], "args": {"image": "<resource>-1"}}]))


def test_missing_and_unknown_args():
    found = problems_of([{"id": 1, "task": "question-answering", "dep": [], "args": {"txt": "x"}}])
    assert [p.code for p in found] == ["missing_arg", "missing_arg", "unknown_arg"]
    assert "task 1: (question-answering) missing arg 'text'" in map(str, found)
    assert "task 1: (question-answering) missing arg 'question'" in map(str, found)
    assert "unknown arg 'txt'" in found[2].message


def test_wrong_arg_type():
    assert codes_of([{"id": 1, "task": "summarization", "dep": [], "args": {"text": {"nested": 1}}}]) == [
        ("arg_type", 1)]


@pytest.mark.parametrize("raw, fragment", [
    ("not json at all", "not valid JSON"),
    ('{"steps": []}', '"tasks" list'),
    ('[{"id": "x", "task": "summarization"}]', "must be an integer"),
    ('[{"id": 1}]', "no task name"),
    ('[1, 2]', "not an object"),
])
def test_shape_errors(raw, fragment):
    with pytest.raises(PlanError, match=fragment):
        parse_plan(raw)


def test_empty_plan_is_valid():
    validate_plan(parse_plan('{"tasks": []}'))


def test_generations_group_independent_tasks():
    plan = parse_plan([
        {"id": 1, "task": "image-to-text", "dep": [], "args": {"image": "p.png"}},
        {"id": 2, "task": "optical-character-recognition", "dep": [], "args": {"image": "p.png"}},
        {"id": 3, "task": "text-to-speech", "dep": [1, 2], "args": {"text": "<resource>-1 <resource>-2"}}])
    assert [[t.id for t in g] for g in plan.generations()] == [[1, 2], [3]]


def test_every_problem_code_is_documented():
    """A code the planner or the UI acts on must be in the table (a typo would never match)."""
    raws = [
        [{"id": 1, "task": "summarization", "dep": [], "args": {"text": "a"}}] * 2,
        [{"id": 1, "task": "make-coffee", "dep": [7], "args": {}}],
        [{"id": 1, "task": "question-answering", "dep": [1, 9], "args": {"txt": {}, "question": "<resource>-4"}}],
    ]
    seen = {p.code for raw in raws for p in problems_of(raw)}
    assert seen <= set(PLAN_PROBLEM_CODES)
    assert {"duplicate_id", "unknown_task", "self_dep", "missing_dep", "missing_arg", "unknown_arg",
            "dangling_ref"} <= seen


def test_shape_errors_carry_the_unparsable_code():
    with pytest.raises(PlanError) as exc:
        parse_plan("not json at all")
    assert exc.value.codes == ["unparsable"]
