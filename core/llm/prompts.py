"""Every prompt file in prompts/ is read and filled here, one way: `$name` placeholders
(string.Template; `$$` is a literal dollar sign), strict: a placeholder the file uses and the
caller does not give is a PromptError, never a silently empty hole in what the controller reads.
Values the file does not use are ignored (an expert's args are passed whole)."""

from __future__ import annotations

import string
from functools import cache

from core.config.paths import PROMPTS_DIR
from core.errors import PromptError


@cache
def load(name: str) -> str:
    """The text of prompts/<name> (e.g. "experts/summarization.txt"), exactly as in the file."""
    path = (PROMPTS_DIR / name).resolve()
    if PROMPTS_DIR.resolve() not in path.parents:
        raise PromptError(f"prompt {name!r} is outside the prompts folder")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise PromptError(f"prompt {name!r} cannot be read: {e.strerror or e}") from None


def placeholders(name: str) -> set[str]:
    """The $names prompts/<name> uses."""
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(load(name))
            if m.group("named") or m.group("braced")}


def render(name: str, **values: object) -> str:
    """prompts/<name> with every placeholder filled from `values` (str() of each)."""
    missing = sorted(placeholders(name) - set(values))
    if missing:
        raise PromptError(f"prompt {name!r} needs {', '.join(missing)}")
    try:
        return string.Template(load(name)).substitute({k: str(v) for k, v in values.items()})
    except ValueError as e:  # a lone "$" or "$1": the file is broken, say which
        raise PromptError(f"prompt {name!r} has a bad placeholder: {e}") from None
