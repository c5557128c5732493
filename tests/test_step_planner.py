"""Planner v3 (core/planning/step_planner.py): the step format, grounding under modality constraints, and
the planner driven by a scripted controller through each of its branches. A keyword encoder and
a hand-made head stand in for MiniLM and the trained head, so every expectation is worked out by
hand; the shipped head is checked on real steps in the slow test at the end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.llm.controllers import Completion
from core.plan import validate_plan
from core.planning import steps as planner_steps
from core.planning.grounder import HEAD_FILE, Step, StepGrounder, feasible
from core.planning.step_planner import StepPlanner, quoted_texts

# keyword -> label; the fake encoder one-hot encodes the keywords a step contains
KEYWORDS = {
    "transcribe": "automatic-speech-recognition", "summarize": "summarization",
    "aloud": "text-to-speech", "caption": "image-to-text", "hologram": "hologram-projection",
    "translate": "translation", "edit": "image-editing", "draw": "text-to-image",
    "classify": "image-classification", "question": "visual-question-answering",
    "compare": "sentence-similarity",
}
LABELS = sorted(set(KEYWORDS.values()))


def fake_encoder(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), len(KEYWORDS)), dtype="float32")
    for i, t in enumerate(texts):
        for j, word in enumerate(KEYWORDS):
            if word in t.lower():
                out[i, j] = 1.0
    return out


@pytest.fixture
def head(tmp_path):
    W = np.zeros((len(KEYWORDS), len(LABELS)), dtype="float32")
    for j, label in enumerate(KEYWORDS.values()):
        W[j, LABELS.index(label)] = 6.0
    # a faint second choice: "classify" also looks a bit like captioning
    W[list(KEYWORDS).index("classify"), LABELS.index("image-to-text")] = 5.0
    path = tmp_path / "head.npz"
    np.savez(path, W=W, b=np.zeros(len(LABELS), dtype="float32"), labels=np.array(LABELS),
             meta=np.array(json.dumps({})))
    return path


@pytest.fixture
def grounder(head):
    return StepGrounder(head, encoder=fake_encoder)


class Scripted:
    """A controller that writes the given text and records what it was asked."""

    supports_gbnf = True
    name = "scripted"

    def __init__(self, text: str):
        self.text = text
        self.calls: list[dict] = []
        self.primed: list = []

    def prime(self, prefix):
        self.primed.append(prefix)

    def chat(self, messages, **kw):
        self.calls.append({"messages": messages, **kw})
        return Completion(self.text, 100, 12, 0.5, "stop")


def planner(text: str, grounder: StepGrounder, **kw) -> StepPlanner:
    return StepPlanner(Scripted(text), grounder=grounder, retrieve=0, **kw)


# -- the step format ---------------------------------------------------------------------------

def test_step_grammar_compiles_for_llama_cpp():
    llama_cpp = pytest.importorskip("llama_cpp")
    llama_cpp.LlamaGrammar.from_string(planner_steps.grammar(), verbose=False)
    g = planner_steps.grammar(max_steps=3)
    assert 'r3 ::= "<" ("1" | "2") "> "' in g and '"\\n4 "' not in g


def test_parse_reads_refs_and_drops_forward_ones():
    steps = planner_steps.parse("1 Transcribe 'a.wav'\n2 <1> Summarize it\n3 <2> <5> <1> Read it aloud")
    assert [(s.text, s.refs) for s in steps] == [("Transcribe 'a.wav'", []), ("Summarize it", [1]),
                                                ("Read it aloud", [1, 2])]
    assert planner_steps.parse("none") == []
    # an endpoint without the grammar may write "Step 1:" lines and chatter
    loose = planner_steps.parse("Here you go:\nStep 1: Caption the image\nStep 2: <1> Read it aloud")
    assert [(s.text, s.refs) for s in loose] == [("Caption the image", []), ("Read it aloud", [1])]


def test_clean_step_strips_numbering_and_brackets():
    assert planner_steps.clean_step("Step 3: Use <node-1> as   input.") == "Use as input."
    assert planner_steps.clean_step("2. Summarize") == "Summarize"
    assert planner_steps.render_steps([{"text": "Step 1: Draw a cat", "refs": []},
                                       {"text": "Caption it", "refs": [1]}]) == "1 Draw a cat\n2 <1> Caption it"


# -- grounding ---------------------------------------------------------------------------------

def test_feasible_follows_what_each_step_gives():
    # speech recognition cannot take a caption; summarization can
    assert not feasible("automatic-speech-recognition", Step("x", [1]), ["image-to-text"], set())
    assert feasible("summarization", Step("x", [1]), ["image-to-text"], set())
    # an image task with no reference needs an image file
    assert not feasible("image-to-text", Step("x"), [], set())
    assert feasible("image-to-text", Step("x"), [], {"image"})
    assert feasible("image-to-text", Step("x", [1]), ["text-to-image"], set())


def test_grounding_picks_the_best_label_that_fits(grounder):
    g = grounder.ground([Step("Transcribe the call"), Step("Summarize it", [1]), Step("Read aloud", [2])],
                        {"audio"})
    assert [x.label for x in g] == ["automatic-speech-recognition", "summarization", "text-to-speech"]
    # "classify" is image-classification, but with no image anywhere the beam must settle on a
    # label that can run: both image labels need one, so the constraint is dropped for that step
    # only when nothing fits; with an image drawn first, classification wins again
    g = grounder.ground([Step("Draw a boat"), Step("Classify it", [1])], set())
    assert [x.label for x in g] == ["text-to-image", "image-classification"]


def test_grounding_prefers_a_feasible_second_choice(grounder):
    # step 2 refers to a text step, so it cannot be image-classification (needs an image); the
    # head's second choice for "classify" is image-to-text, also an image task; with the image
    # file attached the first choice stands
    g = grounder.ground([Step("Classify the photo")], {"image"})
    assert g[0].label == "image-classification" and g[0].alternatives[0][0] == "image-classification"


def test_allowed_labels_limit_the_choice(head):
    gr = StepGrounder(head, encoder=fake_encoder, allowed={"image-to-text"})
    assert gr.ground([Step("Classify the photo")], {"image"})[0].label == "image-to-text"


# -- the planner, each branch -------------------------------------------------------------------

def test_chain_gets_deps_from_refs_and_args_from_files(grounder):
    p = planner("1 Transcribe the recording\n2 <1> Summarize it\n3 <2> Read the summary aloud", grounder)
    out = p.plan("Transcribe this, summarize and read it aloud", ["meeting.wav"])
    assert out.ok and [t.task for t in out.plan.tasks] == [
        "automatic-speech-recognition", "summarization", "text-to-speech"]
    assert [t.dep for t in out.plan.tasks] == [[], [1], [2]]
    assert out.plan.tasks[0].args == {"audio": "meeting.wav"}
    assert out.plan.tasks[2].args == {"text": "<resource>-2"}
    assert [s["label"] for s in out.steps] == [t.task for t in out.plan.tasks]
    call = p.controller.calls[0]
    assert call["grammar"] == p.grammar and call["temperature"] == 0.0
    assert p.controller.primed == [p.prefix()]  # the fixed prefix is what gets cached


def test_none_is_an_empty_plan(grounder):
    out = planner("none", grounder).plan("hello there!")
    assert out.ok and out.plan.tasks == []


def test_a_step_no_task_can_do_is_left_out_and_said(grounder):
    # "hologram-projection" is a label of the head but no task of Maestro
    p = planner("1 Summarize the article\n2 <1> Make a hologram of it\n3 <2> Read it aloud", grounder)
    out = p.plan("Summarize 'a long article', make a hologram of it, then read it aloud")
    assert [t.task for t in out.plan.tasks] == ["summarization", "text-to-speech"]
    assert out.plan.tasks[1].dep == [1]  # the speech step's reference goes to what the hologram used
    assert out.notes and "hologram-projection" in out.notes[0]
    validate_plan(out.plan)


def test_a_step_that_redoes_its_source_is_merged(grounder):
    p = planner("1 Summarize the text\n2 <1> Summarize it even shorter\n3 <2> Read it aloud", grounder)
    out = p.plan("Summarize 'a long story' and read it aloud")
    assert [t.task for t in out.plan.tasks] == ["summarization", "text-to-speech"]
    assert out.plan.tasks[1].args == {"text": "<resource>-1"} and "merged" in out.notes[0]
    p.drop_repeats = False  # two independent steps of one type are not repeats either way
    out = p.plan("Summarize 'a long story' and read it aloud")
    assert [t.task for t in out.plan.tasks] == ["summarization", "summarization", "text-to-speech"]
    two = planner("1 Summarize 'first text'\n2 Summarize 'second text'", grounder).plan(
        "Summarize 'first text' and 'second text'")
    assert [t.args["text"] for t in two.plan.tasks] == ["first text", "second text"]


def test_literal_args_come_from_the_request(grounder):
    p = planner("1 Translate the sentence\n2 <1> Read it aloud", grounder)
    out = p.plan("Translate 'The museum opens at nine' into French and say it")
    t1 = out.plan.tasks[0]
    assert t1.task == "translation" and t1.args == {"text": "The museum opens at nine", "tgt_lang": "fr"}


def test_image_editing_carries_its_instruction(grounder):
    out = planner("1 Edit the image to add a red hat", grounder).plan("Add a red hat in 'cat.jpg'")
    t = out.plan.tasks[0]
    assert t.task == "image-to-image" and t.args == {"image": "cat.jpg", "text": "Edit the image to add a red hat"}


def test_visual_question_takes_the_question_asked(grounder):
    out = planner("1 Answer the question about the photo", grounder).plan(
        "What color is the car in this picture?", ["street.png"])
    t = out.plan.tasks[0]
    assert t.task == "visual-question-answering"
    assert t.args == {"image": "street.png", "question": "What color is the car in this picture?"}


def test_a_step_with_nothing_to_work_on_is_left_out(grounder, monkeypatch):
    from core.planning import grounder as step_grounder

    monkeypatch.setattr(step_grounder, "MIN_ALTERNATIVE", 0.05)
    # no image anywhere: captioning cannot run, and no label that could is nearly as likely, so
    # the step keeps its label and is left out with a note (not run as some text task instead)
    out = planner("1 Caption the photo\n2 Summarize it", grounder).plan("Caption the photo 'x'")
    assert out.ok and [t.task for t in out.plan.tasks] == ["summarization"]
    assert out.steps[0]["label"] == "image-to-text"
    assert out.notes == ["step 1 (Caption the photo) has no image to work on; left out"]
    # with the photo attached the same answer plans both
    out = planner("1 Caption the photo\n2 <1> Summarize it", grounder).plan("Caption the photo", ["a.jpg"])
    assert [t.task for t in out.plan.tasks] == ["image-to-text", "summarization"] and not out.notes
    # the floor at 0 lets the beam take whatever can run (what MIN_ALTERNATIVE guards against)
    monkeypatch.setattr(step_grounder, "MIN_ALTERNATIVE", 0.0)
    out = planner("1 Caption the photo", grounder).plan("Caption the photo")
    assert out.steps[0]["label"] != "image-to-text"


def test_refs_to_two_steps_feed_both_inputs(grounder):
    p = planner("1 Caption the photo\n2 Transcribe the recording\n3 <1> <2> Compare the two texts", grounder)
    out = p.plan("Does the photo match what is said?", ["scene.jpg", "voice.wav"])
    assert [t.task for t in out.plan.tasks] == ["image-to-text", "automatic-speech-recognition",
                                                "sentence-similarity"]
    t3 = out.plan.tasks[2]
    assert t3.dep == [1, 2] and t3.args == {"text": "<resource>-1", "text2": "<resource>-2"}
    validate_plan(out.plan)


def test_files_of_each_modality_go_to_the_steps_that_take_them(grounder):
    # an audio and two images: the named image goes to its step, the other to the next image step;
    # the video file (no step takes video) is given to none
    p = planner("1 Transcribe the recording\n2 Caption the photo 'b.jpg'\n3 Caption the other photo", grounder)
    out = p.plan("Transcribe it and caption both photos", ["talk.wav", "a.jpg", "b.jpg", "clip.mp4"])
    assert [(t.task, t.args) for t in out.plan.tasks] == [
        ("automatic-speech-recognition", {"audio": "talk.wav"}),
        ("image-to-text", {"image": "b.jpg"}), ("image-to-text", {"image": "a.jpg"})]
    assert all(t.dep == [] for t in out.plan.tasks)
    # file names the request mentions count as files too (TaskBench names them only in the text)
    out = planner("1 Caption the photo", grounder).plan("Caption 'holiday.png' please")
    assert out.plan.tasks[0].args == {"image": "holiday.png"}


def test_a_step_without_a_ref_takes_the_latest_output_of_its_kind(grounder):
    # the controller forgot <1>: the caption step still gets the drawn image, and depends on it
    out = planner("1 Draw a lighthouse\n2 Caption the picture", grounder).plan("Draw a lighthouse and caption it")
    assert [(t.task, t.dep, t.args.get("image")) for t in out.plan.tasks] == [
        ("text-to-image", [], None), ("image-to-text", [1], "<resource>-1")]


def test_an_answer_with_no_steps_is_an_error_not_chit_chat(grounder):
    out = planner("Sure! I can help you with that request.", grounder).plan("Caption the photo", ["a.jpg"])
    assert not out.ok and "wrote no steps" in out.error and out.plan.tasks == []
    assert planner("none.", grounder).plan("thanks!").ok
    assert planner("", grounder).plan("thanks!").ok  # nothing written: no model needed


def test_a_follow_up_takes_the_earlier_result(grounder):
    history = [{"request": "What does the sign say?",
                "results": [{"id": 1, "task": "optical-character-recognition", "status": "done",
                             "output": {"text": "Closed on Sundays"}}]}]
    p = planner("1 Read the text aloud", grounder)
    out = p.plan("read it out loud", [], history)
    assert out.plan.tasks[0].args == {"text": "Closed on Sundays"}
    assert "Closed on Sundays" in p.controller.calls[0]["messages"][-1]["content"]


def test_no_grammar_for_a_controller_without_gbnf(grounder):
    ctl = Scripted("Step 1: Summarize the text")
    ctl.supports_gbnf = False
    out = StepPlanner(ctl, grounder=grounder, retrieve=0).plan("Summarize 'a long story about cats'")
    assert "grammar" not in ctl.calls[0] and out.plan.tasks[0].args == {"text": "a long story about cats"}


def test_a_step_naming_several_files_becomes_one_task_per_file(grounder):
    p = planner("1 Classify the images 'a.png', 'c.png' and 'b.png'\n2 <1> Read the labels aloud", grounder)
    out = p.plan("Classify each of these: a.png, b.png and c.png, then read them out", ["a.png", "b.png", "c.png"])
    assert [(t.id, t.task, t.args, t.dep) for t in out.plan.tasks] == [
        (1, "image-classification", {"image": "a.png"}, []),
        (2, "image-classification", {"image": "c.png"}, []),  # in the order the step names them
        (3, "image-classification", {"image": "b.png"}, []),
        (4, "text-to-speech", {"text": "<resource>-1"}, [1, 2, 3])]
    validate_plan(out.plan, p.known_tasks)


def test_a_text_step_on_a_recording_is_transcribed_first(grounder):
    p = planner("1 Summarize the talk 'talk.wav'\n2 <1> Translate the summary\n3 Caption the photo 'a.jpg'", grounder)
    out = p.plan("Summarize talk.wav, translate it into German; caption a.jpg", ["talk.wav", "a.jpg"])
    assert [(t.task, t.args, t.dep) for t in out.plan.tasks] == [
        ("automatic-speech-recognition", {"audio": "talk.wav"}, []),
        ("summarization", {"text": "<resource>-1"}, [1]),
        ("translation", {"text": "<resource>-2", "tgt_lang": "de"}, [2]),
        ("image-to-text", {"image": "a.jpg"}, [])]
    # a step that already is about the recording itself is left as it is
    out = planner("1 Transcribe 'talk.wav'", grounder).plan("Transcribe talk.wav", ["talk.wav"])
    assert [t.task for t in out.plan.tasks] == ["automatic-speech-recognition"]


def test_steps_are_grounded_without_their_file_names():
    from core.planning.request import without_file_names

    assert without_file_names("Describe the photo 'party.png' please") == "Describe the photo please"
    assert without_file_names('Classify "a.jpg", b.PNG and “c.webp”') == "Classify , and"
    assert without_file_names("Summarize the notes in notes.txt") == "Summarize the notes in notes.txt"  # not media


def test_the_train_bank_is_read_only_when_demos_are_retrieved(grounder):
    p = planner("1 Caption the photo", grounder)
    p.plan("Caption this", ["cat.jpg"])
    assert "retriever" not in vars(p)  # retrieve = 0: the 2k-demo bank was never read
    assert len(p.retriever.demos) > 500 and not any(d.get("context") for d in p.retriever.demos)


def test_quoted_texts_skip_file_names():
    assert quoted_texts("Use 'example.jpg' and 'Hello world' and \"Bonjour\"") == ["Hello world", "Bonjour"]
    assert quoted_texts("I'd like the text 'It's late, go home' read out") == ["It's late, go home"]


def test_every_task_type_is_offered_whatever_is_installed(tmp_path, monkeypatch):
    from core.config.settings import Settings
    from core.engine.pipeline import Engine
    from core.tasks import TASKS

    monkeypatch.setenv("MAESTRO_DATA", str(tmp_path))
    engine = Engine(Settings(offline=True), controller=Scripted("none"))
    assert engine.known_tasks() == set(TASKS)
    assert engine.planner.known_tasks == set(TASKS)


# -- the shipped head and bank (built from TaskBench's train split) -------------------------------

def test_bank_and_fixed_demos_are_train_only_and_round_trip():
    from benchmarks.taskbench import data_dir, is_dev
    from core.planning.demo_bank import load_demos
    from core.planning.step_planner import FIXED_DEMOS, STEP_BANK

    bank, fixed = load_demos(STEP_BANK), load_demos(FIXED_DEMOS)
    assert len(bank) > 500 and 3 <= len(fixed) <= 16
    assert {d["id"] for d in fixed} <= {d["id"] for d in bank}  # picked from the bank (fit only)
    for d in bank[:200] + fixed:
        steps = planner_steps.parse(planner_steps.render_steps(d["steps"]))
        assert [s.refs for s in steps] == [s["refs"] for s in d["steps"]]
    split = data_dir() / "split_v2.json"
    if split.exists():
        ids = json.loads(split.read_text())
        train = set(ids["train"])
        assert all(d["id"] in train and not is_dev(d["id"]) for d in bank + fixed)


def test_fixed_demos_cover_the_bank_with_short_steps():
    from benchmarks.build_step_planner import pick_fixed

    def demo(name, *steps):
        return {"request": name, "steps": [{"text": t, "refs": []} for t in steps]}

    bank = [demo("a1", "Caption it"), demo("a2", "Caption the photo"), demo("a3", "x" * 80),
            demo("b1", "Transcribe it"), demo("b2", "Transcribe the long recording of the meeting today"),
            demo("c1")]  # no steps (chit-chat): never picked
    # two clusters of requests (a*, b*); the most central of each is a3 / b2, whose steps are long
    v = np.array([[1, 0], [0.95, 0.31], [0.99, 0.14], [0, 1], [0.14, 0.99], [0.7, 0.7]], dtype="float32")
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    picked = [d["request"] for d in pick_fixed(bank, v, k=2, max_chars=20)]
    assert sorted(picked) == ["a1", "b1"] or sorted(picked) == ["a2", "b1"]
    assert len(pick_fixed(bank, v, k=2, max_chars=200)) == 2
    assert [d["request"] for d in pick_fixed(bank, v, k=5, max_chars=12)] == ["a1"]  # the only short one


def test_the_fixed_prefix_is_the_whole_prompt_but_the_request(grounder):
    p = planner("1 Caption the photo 'cat.jpg'", grounder)
    assert len(p.demos) > 3  # the core demos and the fixed train demos
    p.warm()
    assert p.controller.primed == [p.prefix()]  # warm() makes the prefix's KV state
    p.plan("Caption this", ["cat.jpg"])
    msgs = p.controller.calls[0]["messages"]
    assert msgs[:-1] == p.prefix() and msgs[-1]["role"] == "user" and "Caption this" in msgs[-1]["content"]


def test_shipped_head_knows_every_task_type():
    """A task added to core/tasks.py needs `python -m benchmarks.build_step_planner` (its
    description becomes training data); otherwise the planner could never choose it."""
    from core.planning.grounder import StepHead
    from core.tasks import TASKS

    head = StepHead()
    assert set(TASKS) <= set(head.labels) and "image-editing" in head.labels
    assert head.W.shape == (384, len(head.labels)) and head.meta["source"].endswith("(fit)")


@pytest.mark.slow
def test_shipped_head_grounds_natural_steps():
    """The real head on MiniLM: plain requests people type, not TaskBench's phrasing."""
    if not HEAD_FILE.exists():
        pytest.skip("no step head built")
    gr = StepGrounder()
    try:
        gr.warm()
    except RuntimeError as e:
        pytest.skip(str(e))
    g = gr.ground([Step("Caption the photo"), Step("Read the caption aloud", [1])], {"image"})
    assert [x.label for x in g] == ["image-to-text", "text-to-speech"]
    g = gr.ground([Step("Answer the question: what is in this picture?")], {"image"})
    assert g[0].label in ("visual-question-answering", "image-to-text")
    g = gr.ground([Step("Find the organisations and places named in the text")], set())
    assert g[0].label == "token-classification"
    g = gr.ground([Step("Transcribe the recording"), Step("Translate the transcript into German", [1])],
                  {"audio"})
    assert [x.label for x in g] == ["automatic-speech-recognition", "translation"]


# -- the shipped demo vectors ------------------------------------------------------------------

def test_demo_vectors_are_used_only_for_their_own_bank(tmp_path):
    from core.planning.demo_bank import DemoRetriever, load_vectors, save_vectors

    demos = [{"request": "caption the photo"}, {"request": "transcribe the recording"}]
    texts = [d["request"] for d in demos]
    vectors = fake_encoder(["caption", "transcribe"])
    path = tmp_path / "vectors.npz"
    save_vectors(path, texts, vectors)
    assert np.allclose(load_vectors(path, texts), vectors)
    # another bank (a demo edited, added or reordered) finds the file stale
    assert load_vectors(path, ["caption the photo", "transcribe the call"]) is None
    assert load_vectors(path, texts[::-1]) is None
    assert load_vectors(path, [*texts, "draw a cat"]) is None
    assert load_vectors(tmp_path / "missing.npz", texts) is None
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert load_vectors(tmp_path / "broken.npz", texts) is None

    calls: list[list[str]] = []

    def encoder(batch):
        calls.append(list(batch))
        return fake_encoder(batch)

    r = DemoRetriever(demos, cache_dir=tmp_path / "cache", shipped=path)
    r._encoder = encoder
    assert np.allclose(r._bank_vectors(), vectors) and r.vectors_from == "shipped" and calls == []
    stale = DemoRetriever([{"request": "draw a cat"}, *demos], cache_dir=tmp_path / "cache", shipped=path)
    stale._encoder = encoder
    assert stale._bank_vectors().shape == (3, len(KEYWORDS)) and stale.vectors_from == "computed"
    assert calls == [["draw a cat", *texts]]


def test_shipped_demo_vectors_match_the_shipped_bank():
    """`python -m benchmarks.build_step_planner` writes both; an edited bank needs a rebuild
    (otherwise a fresh install embeds the whole bank before its first plan)."""
    from core.planning.demo_bank import load_vectors
    from core.planning.step_planner import BANK_VECTORS, retrieval_bank

    texts = [d["request"] for d in retrieval_bank()]
    vectors = load_vectors(BANK_VECTORS, texts)
    assert vectors is not None and vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors[:50], axis=1), 1.0, atol=1e-2)


def test_a_follow_up_is_shown_follow_up_demos_only(grounder):
    from core.planning.step_planner import FOLLOW_UPS

    history = [{"request": "What does the sign say?",
                "results": [{"id": 1, "task": "optical-character-recognition", "status": "done",
                             "output": {"text": "Closed on Sundays"}}]}]
    p = StepPlanner(Scripted("1 Read the earlier text aloud"), grounder=grounder)
    assert p.follow_ups.demos and all(d.get("context") for d in p.follow_ups.demos)
    assert not any(d.get("context") for d in p.retriever.demos)  # first requests never get them
    out = p.plan("read it out loud", [], history)
    msgs = p.controller.calls[0]["messages"]
    shown = msgs[len(p.prefix()):-1]
    assert len(shown) == 2 * FOLLOW_UPS
    assert all("Context from earlier turns" in m["content"] for m in shown[::2])
    assert out.plan.tasks[0].args == {"text": "Closed on Sundays"}


def test_a_plan_that_fails_validation_is_an_error_naming_the_problem(grounder, monkeypatch):
    from core.errors import PlanError, PlanProblem
    from core.planning import step_planner

    def refuse(plan, known):
        raise PlanError([PlanProblem("cycle", "the plan has a cycle", 1)])

    monkeypatch.setattr(step_planner, "validate_plan", refuse)
    out = planner("1 Caption the photo 'cat.jpg'", grounder).plan("Caption this", ["cat.jpg"])
    assert out.error == "the planner could not make a valid plan: task 1: the plan has a cycle"
    assert not out.plan.tasks
