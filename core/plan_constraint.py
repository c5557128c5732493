"""Token-level checks that make every decoded line-format plan validate, not just parse.

The GBNF grammar (core/planner_lines.py) fixes the shape: known tasks, their args, refs only to
earlier ids. What a context-free grammar cannot know is what each earlier task outputs, so it
cannot stop `audio=<1>` when task 1 makes an image. This logits processor can: while the model
writes, it reads the plan so far and bans the tokens that would
- start a task whose required image/audio input nothing here can supply (no such file attached,
  no earlier task that outputs it), or
- refer to an earlier task whose output is of the wrong kind for the arg.
The grammar and this mask together leave only plans that pass `validate_plan`'s modality check."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.tasks import TASKS

_LINE_HEAD = re.compile(r"^(\d+) ([a-z][a-z\-]*)")
_REF = re.compile(r"([A-Za-z_0-9]+)=<(\d*)(>?)")
_NAME_CHARS = re.compile(r"^ ?[a-z\-]+ ?$")
_HEAD = re.compile(r"^(\d+)( ?)([a-z\-]*)( ?)$")  # a line still in its id or task name
_REF_CHARS = re.compile(r"[<>0-9]")
MEDIA = ("image", "audio", "video")


@dataclass
class _VocabIndex:
    """The only tokens that can make a plan invalid: pieces of task names, and pieces of refs."""
    name_ids: list[int]
    ref_ids: list[int]
    eq_ref_ids: list[int]
    by_piece: dict[str, list[int]]
    name_mask: Any  # numpy bool over the vocabulary
    space_mask: Any


_INDEXES: dict[int, tuple[Sequence[str], _VocabIndex]] = {}


def _index(pieces: Sequence[str]) -> _VocabIndex:
    """Built once per vocabulary (~0.1 s for 152k tokens), then shared by every planning call."""
    import numpy as np

    hit = _INDEXES.get(id(pieces))
    if hit is not None and hit[0] is pieces:
        return hit[1]
    name_ids = [i for i, p in enumerate(pieces) if p and _NAME_CHARS.match(p)]
    ref_ids = [i for i, p in enumerate(pieces)
               if p and _REF_CHARS.search(p) and "\n" not in p and '"' not in p and len(p) <= 6]
    by_piece: dict[str, list[int]] = {}
    for i in name_ids:
        by_piece.setdefault(pieces[i], []).append(i)
    name_mask = np.zeros(len(pieces), dtype=bool)
    name_mask[name_ids] = True
    space_mask = np.zeros(len(pieces), dtype=bool)
    space_mask[[i for i, p in enumerate(pieces) if p[:1] in (" ", "\n")]] = True
    index = _VocabIndex(name_ids, ref_ids, [i for i in ref_ids if "=<" in pieces[i]], by_piece, name_mask,
                        space_mask)
    _INDEXES[id(pieces)] = (pieces, index)
    return index


class PlanConstraint:
    """A llama-cpp-python logits processor for one planning call (it keeps per-call state)."""

    def __init__(self, names: Sequence[str], media: dict[str, list[str]], pieces: Sequence[str]):
        self.names = [n for n in names if n in TASKS]
        self.files = {m: bool(media.get(m)) for m in MEDIA}
        self.pieces = pieces
        index = _index(pieces)
        self._name_ids, self._ref_ids, self._eq_ref_ids = index.name_ids, index.ref_ids, index.eq_ref_ids
        self._by_piece, self._name_mask, self._space_mask = index.by_piece, index.name_mask, index.space_mask
        self._text = ""
        self._seen: int | None = None

    # -- the plan so far -------------------------------------------------------------------------------

    def _outputs(self, lines: list[str]) -> dict[int, tuple[str, ...]]:
        out: dict[int, tuple[str, ...]] = {}
        for line in lines:
            m = _LINE_HEAD.match(line)
            if m and m.group(2) in TASKS:
                out[int(m.group(1))] = TASKS[m.group(2)].outputs
        return out

    def _available(self, modality: str, outputs: dict[int, tuple[str, ...]]) -> bool:
        return modality == "text" or self.files.get(modality, False) or any(
            modality in o for o in outputs.values())

    def _feedable(self, name: str, outputs: dict[int, tuple[str, ...]]) -> bool:
        return all(self._available(a.modality, outputs) for a in TASKS[name].inputs if a.required)

    def _mask_names(self, m: re.Match, outputs: dict[int, tuple[str, ...]], scores: Any) -> Any:
        """Ban every name piece except those that continue a feedable task name."""
        import numpy as np

        feedable = [n for n in self.names if self._feedable(n, outputs)]
        spaced, part = bool(m.group(2)), m.group(3)
        allowed: list[int] = []
        for name in feedable:
            if spaced and not name.startswith(part):
                continue
            rest = (name[len(part):] if spaced else " " + name) + " "
            for k in range(1, len(rest) + 1):
                allowed += self._by_piece.get(rest[:k], ())
        banned = self._name_mask.copy()
        banned[allowed] = False
        if spaced and part in feedable:  # a finished name: what follows (" image=...") is the grammar's
            banned &= ~self._space_mask
        elif spaced and part in self.names:  # a finished name that must not be closed
            banned |= self._space_mask
        if banned.any():
            scores = scores.copy()
            scores[banned] = -np.inf
        return scores

    def line_ok(self, line: str, outputs: dict[int, tuple[str, ...]]) -> bool:
        """Can `line` (the unfinished last line) still become a valid task line?"""
        m = re.match(r"^(\d+) ([a-z\-]*)( ?)", line)
        if not m:
            return True
        name, done = m.group(2), bool(m.group(3))
        feedable = [n for n in self.names if self._feedable(n, outputs)]
        if not done:
            return any(n.startswith(name) for n in feedable)
        if name not in feedable:
            return False
        spec, own = TASKS[name], int(m.group(1))
        for arg, digits, closed in _REF.findall(line[m.end():]):
            a = spec.arg(arg)
            if a is None:
                continue
            ok = [j for j, outs in outputs.items() if j < own and a.modality in outs]
            if closed:
                if not digits or int(digits) not in ok:
                    return False
            elif not any(str(j).startswith(digits) for j in ok):
                return False
        return True

    # -- the processor ---------------------------------------------------------------------------------

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        n = len(input_ids)
        if self._seen is None:  # the first call sees the prompt only: the plan starts after it
            self._seen = n
        if n > self._seen:
            self._text += "".join(self.pieces[int(t)] for t in input_ids[self._seen:n])
            self._seen = n
        lines = self._text.split("\n")
        current, outputs = lines[-1], self._outputs(lines[:-1])
        if not current or not current[0].isdigit():
            return scores
        head_name = _HEAD.match(current)
        if head_name:  # writing the task name: only tasks whose inputs can be supplied
            return self._mask_names(head_name, outputs, scores)
        head = _LINE_HEAD.match(current)
        rest = current[head.end():] if head else ""
        if head is None or rest.count('"') % 2:
            return scores  # inside a quoted value
        if re.search(r"=<?\d*$", current):
            candidates = self._ref_ids  # a ref may start or continue here
        elif re.search(r"[A-Za-z_0-9]$", current):
            candidates = self._eq_ref_ids  # an arg name, which a "=<" token could close
        else:
            return scores
        banned = [i for i in candidates if not self.line_ok(current + self.pieces[i], outputs)]
        if banned:
            scores = scores.copy()
            scores[np.asarray(banned, dtype=np.int64)] = -np.inf
        return scores


def token_pieces(detokenize: Callable[[list[int]], bytes], n_vocab: int) -> list[str]:
    """Each token's text (invalid UTF-8 fragments become empty: they never form names or refs)."""
    out = []
    for i in range(n_vocab):
        try:
            out.append(detokenize([i]).decode("utf-8"))
        except (UnicodeDecodeError, Exception):  # noqa: BLE001 - special or partial tokens
            out.append("")
    return out
