"""TaskBench metrics, split, name mapping and converter, on hand-made examples with the numbers
worked out by hand; plus the CLI on a tiny data folder (no LLM needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.taskbench import Node, Record, data_dir, load_records, split_of, tb_name
from benchmarks.taskbench_convert import NotConvertible, mentioned_files, to_maestro_plan
from benchmarks.taskbench_metrics import (
    Counts,
    gold_graph,
    ned,
    percentile,
    plan_graph,
    score_sample,
    summarize,
)
from benchmarks.taskbench_run import Attempt, report, run

ROOT = Path(__file__).resolve().parent.parent

ASR, SUM, TTS = "Automatic Speech Recognition", "Summarization", "Text-to-Speech"


def chain_record(rid: str = "1") -> Record:
    """Gold: ASR -> Summarization -> TTS."""
    return Record(rid, "chain", "Transcribe example.wav, summarize it and read the summary aloud",
                  [Node(ASR, ["example.wav"]), Node(SUM, ["<node-0>"]), Node(TTS, ["<node-1>"])],
                  [(ASR, SUM), (SUM, TTS)])


def plan(*tasks: tuple[int, str, list[int], dict]) -> dict:
    return {"tasks": [{"id": i, "task": t, "dep": d, "args": a} for i, t, d, a in tasks]}


PERFECT = plan((1, "automatic-speech-recognition", [], {"audio": "example.wav"}),
               (2, "summarization", [1], {"text": "<resource>-1"}),
               (3, "text-to-speech", [2], {"text": "<resource>-2"}))
# Summarization is right, the last step is Translation instead of TTS.
PARTIAL = plan((1, "automatic-speech-recognition", [], {"audio": "example.wav"}),
               (2, "summarization", [1], {"text": "<resource>-1"}),
               (3, "translation", [2], {"text": "<resource>-2"}))
DISJOINT = plan((1, "text-to-image", [], {"text": "a cat"}),
                (2, "image-classification", [1], {"image": "<resource>-1"}))


def test_perfect_plan_scores_100():
    s = score_sample(gold_graph(chain_record()), plan_graph(PERFECT))
    assert (s.nodes.f1, s.edges.f1, s.arg_names.f1, s.arg_values.f1) == (100.0,) * 4
    assert s.ned == 0.0


def test_disjoint_plan_scores_0():
    s = score_sample(gold_graph(chain_record()), plan_graph(DISJOINT))
    assert (s.nodes.f1, s.edges.f1, s.arg_names.f1) == (0.0, 0.0, 0.0)
    assert s.ned == 1.0


def test_partial_plan_by_hand():
    s = score_sample(gold_graph(chain_record()), plan_graph(PARTIAL))
    # nodes: tp {ASR, Sum}=2, fp {Translation}=1, fn {TTS}=1 -> 2*2/(4+1+1)
    assert (s.nodes.tp, s.nodes.fp, s.nodes.fn) == (2, 1, 1)
    assert s.nodes.f1 == pytest.approx(200 * 2 / 6)
    # edges: tp (ASR,Sum), fp (Sum,Translation), fn (Sum,TTS) -> 2/(2+1+1) = 50
    assert s.edges.f1 == pytest.approx(50.0)
    # arg types: ASR-audio, Summarization-text hit; Translation-text vs Text-to-Speech-text
    assert s.arg_names.f1 == pytest.approx(200 * 2 / 6)
    # sequences [ASR,Sum,TTS] vs [ASR,Sum,Translation]: LCS 2 -> 1 - 4/6
    assert s.ned == pytest.approx(1 / 3)


def test_micro_average_over_samples_and_outside_names_ignored():
    single = Record("2", "single", "Classify example.jpg", [Node("Image Classification", ["example.jpg"])], [])
    # The prediction adds a task TaskBench does not know: it must not count as a false positive.
    pred = plan((1, "image-classification", [], {"image": "example.jpg"}),
                (2, "zero-shot-classification", [1], {"text": "<resource>-1", "labels": "a, b"}))
    s1 = score_sample(gold_graph(single), plan_graph(pred))
    assert (s1.nodes.tp, s1.nodes.fp, s1.nodes.fn) == (1, 0, 0)
    s2 = score_sample(gold_graph(chain_record()), plan_graph(PARTIAL))
    total = summarize([s1, s2], [True, False], [1.0, 3.0])
    assert total["n_f1"] == pytest.approx(75.0)  # tp 3, fp 1, fn 1 -> 6/8
    assert total["valid_rate"] == 50.0
    assert total["plan_p50_s"] == 2.0
    # a gold name outside the catalog is ignored too
    odd = Record("3", "single", "x", [Node("Audio Transcription", ["a.wav"])], [])
    s3 = score_sample(gold_graph(odd), plan_graph({"tasks": []}))
    assert s3.nodes.f1 is None and (s3.nodes.tp, s3.nodes.fn) == (0, 0)


def test_counts_and_helpers():
    c = Counts()
    c.add(["a", "a", "b"], ["a", "c"])  # sets: tp a, fn b, fp c
    assert (c.tp, c.fp, c.fn) == (1, 1, 1)
    assert Counts().f1 is None
    assert ned([], []) == 0.0 and ned(["Translation"], []) == 1.0
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5.0], 95) == 5.0


def test_image_to_image_maps_by_its_text_arg():
    assert tb_name("image-to-image", {"image": "a.jpg", "text": "make it red"}) == "Image Editing"
    assert tb_name("image-to-image", {"image": "a.jpg"}) == "Image-to-Image"
    assert tb_name("optical-character-recognition") == "Image-to-Text"
    assert tb_name("fill-mask") == "fill-mask"  # outside TaskBench's catalog


def test_split_is_fixed_and_about_30_percent():
    ids = [str(i) for i in range(10000)]
    train = [i for i in ids if split_of(i) == "train"]
    assert 2800 < len(train) < 3200
    assert [split_of(i) for i in ids[:50]] == [split_of(i) for i in ids[:50]]


def test_converter_names_args_and_deps():
    rec = Record("4", "dag", "r", [
        Node("Image Editing", ["Make the sky pink", "example.jpg"]),
        Node("Visual Question Answering", ["<node-0>", "What colour is the sky?"]),
        Node("Question Answering", ["What is it about?", "A long passage of text."]),
    ], [("Image Editing", "Visual Question Answering")])
    p = to_maestro_plan(rec)
    assert p["tasks"][0] == {"id": 1, "task": "image-to-image", "dep": [],
                             "args": {"text": "Make the sky pink", "image": "example.jpg"}}
    assert p["tasks"][1]["args"] == {"image": "<resource>-1", "question": "What colour is the sky?"}
    assert p["tasks"][1]["dep"] == [1]
    assert p["tasks"][2]["args"] == {"question": "What is it about?", "text": "A long passage of text."}
    s = score_sample(gold_graph(rec), plan_graph(p))
    assert (s.nodes.f1, s.edges.f1) == (100.0, 100.0)


def test_converter_refuses_missing_tools_unless_lenient():
    rec = Record("5", "chain", "r", [Node("Image-to-Video", ["a dog"]), Node("Text-to-Speech", ["hi"])], [])
    with pytest.raises(NotConvertible):
        to_maestro_plan(rec)
    assert [t["task"] for t in to_maestro_plan(rec, strict=False)["tasks"]] == ["text-to-speech"]


def test_converter_fixes_one_indexed_refs():
    rec = Record("6", "chain", "r", [Node(ASR, ["example.wav"]), Node(SUM, ["<node-1>"])], [(ASR, SUM)])
    assert to_maestro_plan(rec)["tasks"][1]["args"] == {"text": "<resource>-1"}


def test_mentioned_files():
    assert mentioned_files("Use 'example.jpg' and example.wav, then example.jpg") == ["example.jpg", "example.wav"]


def test_invalid_plan_scores_as_empty():
    rec = chain_record()
    results = run([rec], lambda r: Attempt(PERFECT, 1.0, error="task 3: unknown task"))
    rep = report(results)
    assert rep["valid_rate"] == 0.0 and rep["n_f1"] == 0.0


def _tiny_data(folder: Path) -> None:
    rows = [
        {"id": "a1", "type": "single", "n_tools": 1, "user_request": "Transcribe example.wav",
         "task_steps": [], "task_nodes": [{"task": ASR, "arguments": ["example.wav"]}], "task_links": []},
        {"id": "b2", "type": "chain", "n_tools": 2, "user_request": "Transcribe example.wav and read it",
         "task_steps": [], "task_nodes": [{"task": ASR, "arguments": ["example.wav"]},
                                          {"task": TTS, "arguments": ["<node-0>"]}],
         "task_links": [{"source": ASR, "target": TTS}]},
    ]
    # both ids land in one split or the other; write them under every id so each split has both
    ids = [f"x{i}" for i in range(40)]
    lines = [json.dumps(dict(rows[i % 2], id=rid)) for i, rid in enumerate(ids)]
    (folder / "labeled_hf.jsonl").write_text("\n".join(lines) + "\n")


def test_cli_gold_controller_prints_json_last(tmp_path):
    _tiny_data(tmp_path)
    proc = subprocess.run(
        [sys.executable, "main.py", "bench", "taskbench", "--text", "rephrased", "--controller", "gold",
         "--limit", "5", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "MAESTRO_TASKBENCH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rep["n"] == 5
    for key in ("n_f1", "e_f1", "t_f1", "ned", "valid_rate", "plan_p50_s", "plan_p95_s", "by_type"):
        assert key in rep
    assert rep["n_f1"] == 100.0 and rep["ned"] == 0.0
    assert "[5/5]" in proc.stderr


def _tiny_v2(folder: Path) -> None:
    """full_hf.jsonl + split_v2.json + gnn4plan ids: 2 eval records (one a GNN4TaskPlan id)."""
    rows = [
        {"id": "e1", "type": "single", "request": "Transcribe 'example.wav'", "nodes": [ASR], "links": [],
         "steps": ["Step 1: Transcribe the audio 'example.wav'"]},
        {"id": "e2", "type": "chain", "request": "Transcribe 'example.wav' and summarize it",
         "nodes": [ASR, SUM], "links": [[0, 1]],
         "steps": ["Step 1: Transcribe 'example.wav'", "Step 2: Summarize the transcript"]},
        {"id": "t1", "type": "single", "request": "Summarize 'a long text'", "nodes": [SUM], "links": [],
         "steps": ["Summarize it"]},
    ]
    (folder / "full_hf.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "split_v2.json").write_text(json.dumps({"eval": ["e1", "e2"], "train": ["t1"]}))
    (folder / "gnn4plan_test_ids.json").write_text(json.dumps({"chain": ["e2"]}))


def test_v2_records_read_links_by_position_and_split():
    from benchmarks.taskbench import load_v2

    folder = Path(__import__("tempfile").mkdtemp())
    _tiny_v2(folder)
    ev = load_v2("eval", folder)
    assert [r.id for r in ev] == ["e1", "e2"] and ev[1].links == [(ASR, SUM)]
    assert not ev[0].has_args and ev[1].steps[1].startswith("Step 2")
    assert [r.id for r in load_v2("gnn4plan", folder)] == ["e2"]
    with pytest.raises(ValueError):
        load_v2("nope", folder)


def test_cli_v2_reports_types_and_gnn_ids(tmp_path):
    _tiny_v2(tmp_path)
    env = {**__import__("os").environ, "MAESTRO_TASKBENCH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "main.py", "bench", "taskbench", "--controller", "gold", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rep["n"] == 2 and rep["text"] == "official" and rep["n_f1"] == 100.0
    assert rep["gnn4plan"]["n"] == 1 and rep["by_type"]["chain"]["e_f1"] == 100.0
    assert rep["t_f1"] is None  # no labelled arguments: not scored as zero


def test_mix_like_eval_keeps_the_shares():
    from benchmarks.taskbench_run import EVAL_MIX, mix_like

    recs = [Record(f"s{i}", "single", "", [], []) for i in range(50)] + \
        [Record(f"c{i}", "chain", "", [], []) for i in range(50)] + [Record(f"d{i}", "dag", "", [], []) for i in range(9)]
    first = mix_like(recs, EVAL_MIX)[:40]
    counts = {t: sum(r.type == t for r in first) for t in EVAL_MIX}
    assert counts["chain"] == 32 and counts["single"] in (6, 7) and counts["dag"] in (1, 2)


def test_cli_missing_data_is_a_message(tmp_path):
    proc = subprocess.run([sys.executable, "main.py", "bench", "taskbench", "--controller", "gold"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "MAESTRO_TASKBENCH": str(tmp_path / "nope")})
    assert proc.returncode == 2
    assert "TaskBench data not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(not (data_dir() / "labeled_hf.jsonl").exists(), reason="TaskBench data not here")
def test_real_data_gold_ceiling_and_split():
    records = load_records()
    assert len(records) == 475
    train = [r for r in records if split_of(r.id) == "train"]
    assert 0.25 < len(train) / len(records) < 0.35
    scores = [score_sample(gold_graph(r), plan_graph(to_maestro_plan(r, strict=False)))
              for r in records if r.clean and r.reachable]
    total = summarize(scores, [True] * len(scores), [0.0] * len(scores))
    # the converter and the metrics agree with each other on well-formed labels
    assert total["n_f1"] > 99 and total["e_f1"] > 98


def test_merge_of_split_runs_equals_one_run(tmp_path, monkeypatch):
    """bench taskbench over two halves (--limit / --offset), merged, reports what one run does."""
    from benchmarks.taskbench_merge import merge
    from benchmarks.taskbench_run import report as make_report

    _tiny_v2(tmp_path)
    env = {**__import__("os").environ, "MAESTRO_TASKBENCH": str(tmp_path)}
    outs = []
    for i, part in enumerate((["--limit", "1"], ["--offset", "1"], [])):
        out = tmp_path / f"part{i}.jsonl"
        proc = subprocess.run([sys.executable, "main.py", "bench", "taskbench", "--controller", "gold", "--json",
                               "--out", str(out), *part], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        outs.append((out, json.loads(proc.stdout.strip().splitlines()[-1])))
    monkeypatch.setenv("MAESTRO_TASKBENCH", str(tmp_path))
    merged = merge([outs[0][0], outs[1][0], outs[0][0]])  # a file given twice counts once
    assert sorted(r.record.id for r in merged) == ["e1", "e2"]
    rep, whole = make_report(merged), outs[2][1]
    for key in ("n", "n_f1", "e_f1", "valid_rate"):
        assert rep[key] == whole[key], key
    assert rep["by_type"]["chain"] == whole["by_type"]["chain"]
