"""The step format the controller writes when it decomposes a request, its grammar and parser.

One step per line: its number, the earlier steps whose output it works on as `<N>`, then what
to do in plain words:

    1 Transcribe the audio file 'meeting.wav'
    2 <1> Summarize the transcript
    3 <2> Read the summary out loud

`none` when no tool is needed (greetings, chit-chat). The grammar forces the numbers and lets a
reference name only an earlier step, so the step graph is always a DAG. Which task type each
step is, is not the controller's choice: core/planning/grounder.py decides it.
"""

from __future__ import annotations

import re

from core.planning.grounder import Step

MAX_STEPS = 10
MAX_REFS = 3
MAX_STEP_CHARS = 160
NONE = "none"

_PREFIX = re.compile(r"^\s*(?:step\s*\d+\s*[:.)-]?|\d+\s*[.:)-])\s*", re.IGNORECASE)
_ANGLE = re.compile(r"<[^>\n]*>|[<>]")


def clean_step(text: str) -> str:
    """A labelled step as a step line's text: no "Step 2:" prefix, no angle brackets, one line."""
    text = _ANGLE.sub(" ", _PREFIX.sub("", str(text)))
    return " ".join(text.split())[:MAX_STEP_CHARS].strip()


def grammar(max_steps: int = MAX_STEPS) -> str:
    rules = [f'root ::= "{NONE}" | s1']
    for k in range(1, max_steps + 1):
        head = f'"{k} "' if k == 1 else f'"\\n{k} "'
        tail = f" s{k + 1}?" if k < max_steps else ""
        refs = ""
        if k > 1:
            nums = " | ".join(f'"{j}"' for j in range(1, k))
            rules.append(f'r{k} ::= "<" ({nums}) "> "')
            refs = f" r{k}{{0,{MAX_REFS}}}"
        rules.append(f"s{k} ::= {head}{refs} txt{tail}")
    rules.append(f"txt ::= [^\\n<0-9 ] [^\\n]{{0,{MAX_STEP_CHARS - 1}}}")
    return "\n".join(rules) + "\n"


_LINE = re.compile(r"^\s*(?:step\s*)?(\d+)\s*[.:)-]?\s+((?:<\s*\d+\s*>\s*)*)(.*)$", re.IGNORECASE)
_REF = re.compile(r"<\s*(\d+)\s*>")


def is_none(text: str) -> bool:
    """The answer that means no model is needed (or nothing at all was written)."""
    text = text.strip().strip("`").strip()
    return not text or re.match(rf"{NONE}\b", text.lower()) is not None


def parse(text: str) -> list[Step]:
    """Steps from the controller's text. Lenient (an endpoint without a grammar writes it too):
    unnumbered lines are skipped, a reference to itself or a later step is dropped."""
    text = text.strip().strip("`").strip()
    if not text or text.lower().startswith(NONE) and len(text) < 8:
        return []
    steps: list[Step] = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        words = clean_step(m.group(3))
        if not words:
            continue
        k = len(steps) + 1
        refs = sorted({int(r) for r in _REF.findall(m.group(2)) if 1 <= int(r) < k})
        steps.append(Step(words, refs))
    return steps[:MAX_STEPS]


def render_steps(steps: list[Step] | list[dict]) -> str:
    """Steps in the line format (for demos)."""
    if not steps:
        return NONE
    lines = []
    for k, s in enumerate(steps, 1):
        text, refs = (s["text"], s.get("refs") or []) if isinstance(s, dict) else (s.text, s.refs)
        lines.append(" ".join([str(k), *(f"<{r}>" for r in refs), clean_step(text)]))
    return "\n".join(lines)
