"""One window's conversation work, without Qt: turns from start to finish and what the store keeps.

MainWindow lays out widgets and wires signals; what it decides about a conversation lives here: which
conversation is open, starting a turn (the user's message and the history the planner gets), folding
engine events into the turn's TurnState (saving partial results as they arrive, so a crash keeps them),
finishing a turn (done, stopped or failed), re-running one task with another model, rebuilding the
turns of a stored conversation, deleting one, and the system notes in between. Nothing here imports
PySide6 (a test checks), so all of it is tested against a real store without a window."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.engine.store import Store
from desktop.state import TaskState, TurnState

TITLE_CHARS = 48

# submit(conversation id, request, files, history) -> turn id: how a turn reaches the engine.
Submit = Callable[[str, str, Sequence[Path], list[dict[str, Any]]], str]


class SessionError(RuntimeError):
    """A request the session refuses; the message is for the user as it stands."""


@dataclass
class ChatItem:
    """One bubble of a conversation as the chat draws it."""

    role: str  # user | assistant
    text: str
    files: list[Path] = field(default_factory=list)
    turn_id: str | None = None  # clicking the bubble shows this turn's graph
    result: dict[str, Any] | None = None  # a TurnResult dict whose results become cards under the bubble
    status: str = ""  # the line under the bubble


@dataclass
class Rerun:
    """One task of a finished turn executed again with another model: what goes to the engine."""

    conv_id: str
    turn_id: str
    task_id: int
    model: str
    previous: dict[str, Any]  # the turn's TurnResult dict: the engine keeps its plan and its other results
    stale: set[int]  # the task and every task depending on it: these run again, the rest are kept
    note: str  # the system note left in the conversation


def title_for(request: str) -> str:
    """A new conversation's title: its first request, shortened."""
    return request if len(request) <= TITLE_CHARS else request[: TITLE_CHARS - 1].rstrip() + "…"


class Session:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.conv_id = ""  # the conversation on screen ("" = a new one, created by its first request)
        self.turns: dict[str, TurnState] = {}  # every turn seen in this session, live or rebuilt
        self.results: dict[str, Any] = {}  # turn id -> the engine's TurnResult (turns finished in this session)
        self.running_turn = ""
        self.running_conv = ""
        self.rerun_keep: dict[int, TaskState] = {}  # during a re-run: the tasks that are not executed again
        self._starting: tuple[str, str, list[Path]] | None = None  # (conversation, request, files) being sent

    # ------------------------------------------------------------------ conversations
    def new_conversation(self) -> None:
        self.conv_id = ""

    def open(self, conv_id: str) -> tuple[list[ChatItem], str]:
        """Make `conv_id` current and rebuild its turns from the store: the chat's bubbles, and the
        turn whose graph to show (the latest one with a graph; "" if none)."""
        self.conv_id = conv_id
        stored = {t["id"]: t for t in self.store.turns(conv_id)}
        messages = self.store.messages(conv_id)
        answered = {m.turn_id for m in messages if m.role == "assistant" and m.turn_id}
        items: list[ChatItem] = []
        last_turn = ""
        for m in messages:
            if m.role == "system":
                items.append(ChatItem("assistant", f"_{m.content}_"))
                continue
            turn = stored.get(m.turn_id or "")
            result = turn["result"] if turn is not None and m.role == "assistant" else None
            items.append(ChatItem(m.role, m.content, [Path(f) for f in m.files], m.turn_id, result or None))
            if turn is None or not m.turn_id:
                continue
            if result:
                live = self.turns.get(m.turn_id)
                if live is None or live.status not in ("planning", "running"):  # a re-run may be running
                    self.turns[m.turn_id] = TurnState.from_result(result, turn["status"])
                last_turn = m.turn_id
            elif m.role == "user" and m.turn_id not in answered:
                if m.turn_id == self.running_turn and m.turn_id in self.turns:  # still running in this session
                    items.append(ChatItem("assistant", self.turns[m.turn_id].answer, turn_id=m.turn_id,
                                          status="working…"))
                    last_turn = m.turn_id
                elif turn["status"] == "interrupted":
                    has_graph = bool(turn["result"])
                    if has_graph:  # what finished before Maestro stopped is kept
                        self.turns[m.turn_id] = TurnState.from_result(turn["result"], "interrupted")
                        last_turn = m.turn_id
                    items.append(ChatItem(
                        "assistant", "", turn_id=m.turn_id if has_graph else None,
                        status="Interrupted: Maestro stopped while this request was running."
                        + (" Finished tasks are kept (click to see them)." if has_graph else "")))
        return items, last_turn

    def delete_conversation(self, conv_id: str) -> bool:
        """Delete a conversation with its turns and files; True when it was the one on screen."""
        if conv_id == self.running_conv and self.running_turn:
            raise SessionError("A request is still running in this conversation; stop it first.")
        turn_ids = {t["id"] for t in self.store.turns(conv_id)}
        self.store.delete_conversation(conv_id)
        for turn_id in turn_ids:
            self.turns.pop(turn_id, None)
            self.results.pop(turn_id, None)
        if conv_id != self.conv_id:
            return False
        self.conv_id = ""
        return True

    def add_note(self, text: str, conv_id: str | None = None) -> None:
        """A system note in the conversation (shown in italics, never sent to the planner)."""
        self.store.add_message(conv_id or self.conv_id, "system", text)

    def history(self, conv_id: str | None = None) -> list[dict[str, Any]]:
        """The earlier finished turns the planner gets with a follow-up request (TurnResult dicts)."""
        conv_id = conv_id if conv_id is not None else self.conv_id
        return self.store.history(conv_id) if conv_id else []

    # ------------------------------------------------------------------ a turn's lifecycle
    def start_turn(self, text: str, files: Sequence[Path], submit: Submit) -> TurnState:
        """Send a request in the current conversation (created first when there is none) and record it.

        The engine may refuse it while it is being sent (its process just died): `fail_turn` is then
        called from inside `submit`, and the returned state is already failed, its message kept."""
        if self.running_turn:
            raise SessionError("A request is still running; stop it or wait for it to finish.")
        if not self.conv_id:
            self.conv_id = self.store.new_conversation(title_for(text)).id
        conv_id, files = self.conv_id, list(files)
        history = self.history(conv_id)
        self._starting = (conv_id, text, files)
        try:
            turn_id = submit(conv_id, text, files, history)
        finally:
            self._starting = None
        if turn_id not in self.turns:
            self._begin(conv_id, turn_id, text, files)
        return self.turns[turn_id]

    def _begin(self, conv_id: str, turn_id: str, text: str, files: list[Path]) -> None:
        self.store.begin_turn(conv_id, turn_id, text, files=files)
        self.turns[turn_id] = TurnState(turn_id, text)
        self.running_turn, self.running_conv = turn_id, conv_id

    def apply(self, event: ev.Event) -> tuple[TurnState, set[int]] | None:
        """Fold one engine event into its turn; returns the turn and the nodes whose drawing changed
        (None for a turn this session does not know). The plan and each finished task are saved as
        they arrive, so an engine crash keeps them."""
        state = self.turns.get(getattr(event, "turn_id", ""))
        if state is None:
            return None
        changed = state.apply(event)
        if isinstance(event, ev.PlanReady) and self.rerun_keep and event.turn_id == self.running_turn:
            state.tasks.update(self.rerun_keep)  # kept tasks are not run again: keep showing their results
        if isinstance(event, (ev.PlanReady, ev.TaskFinished)) and not self.rerun_keep:
            self.store.save_partial(event.turn_id, state.partial())
        return state, changed

    def add_tokens(self, turn_id: str, text: str) -> set[int] | None:
        """Streamed answer text (batched by the adapter); None for an unknown turn."""
        state = self.turns.get(turn_id)
        if state is None:
            return None
        return state.apply(ev.ResponseToken(turn_id=turn_id, text=text))

    def finish_turn(self, conv_id: str, result: Any) -> tuple[TurnState, dict[str, Any]]:
        """The engine's TurnResult (or its dict) arrived: store it and settle the turn's state.

        Stopped while the answer streamed: the written part is kept, marked with " …". A result that
        carries no plan (stopped early) finishes what the events showed instead."""
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        turn_id = str(data.get("turn_id") or "")
        conv_id = conv_id or self.running_conv or self.conv_id
        live = self.turns.get(turn_id)
        streamed = live.answer if live is not None else ""
        if not data.get("answer") and streamed.strip():
            data["answer"] = streamed.rstrip() + " …"
        self.results[turn_id] = result
        self.store.finish_turn(conv_id, data)
        if data.get("files"):
            self.store.set_request_files(turn_id, data["files"])
        final = TurnState.from_result(data)
        if not final.tasks and live is not None and live.tasks:
            live.finish(final.status, final.answer, final.error, final.timings)
            final = live
        self.turns[turn_id] = final
        self._end()
        return final, data

    def fail_turn(self, conv_id: str, turn_id: str, message: str) -> TurnState | None:
        """The turn failed outside the engine's own handling (the engine died, or refused it): store it
        as failed with everything the events already delivered (plan, finished results, answer so far)."""
        turn_id = turn_id or self.running_turn
        conv_id = conv_id or self.running_conv or self.conv_id
        if turn_id and turn_id not in self.turns and self._starting and self._starting[0] == conv_id:
            self._begin(conv_id, turn_id, self._starting[1], self._starting[2])  # keep the user's message
        state = self.turns.get(turn_id) if turn_id else None
        data = state.partial() if state is not None else {"turn_id": turn_id, "request": "", "results": []}
        data.update(status="failed", error=message)
        if turn_id and conv_id:
            self.store.finish_turn(conv_id, data)
            if state is not None:
                state.finish("failed", state.answer, message, {})
        self._end()
        return state

    def _end(self) -> None:
        self.running_turn, self.running_conv, self.rerun_keep = "", "", {}

    @property
    def starting(self) -> bool:
        """A request is being sent right now (inside `start_turn`)."""
        return self._starting is not None

    # ------------------------------------------------------------------ re-run one task
    def rerun(self, turn_id: str, task_id: int, model: str) -> Rerun:
        """Prepare executing task `task_id` of a finished turn again with `model`, and every task that
        depends on it; the others keep their results and the answer is written again. Leaves a system
        note in the turn's conversation; the caller sends the returned Rerun to the engine."""
        if self.running_turn:
            raise SessionError("Wait for the running request to finish.")
        if not model:
            raise SessionError("Pick a model to re-run the task with.")
        row = self.store.turn(turn_id)
        previous = self.results.get(turn_id)
        if previous is None:
            if not row or not row["result"]:
                raise SessionError("This turn has no stored result to re-run.")
            previous = row["result"]
        data = previous.to_dict() if hasattr(previous, "to_dict") else dict(previous)
        state = self.turns.get(turn_id)
        if state is None:
            state = self.turns[turn_id] = TurnState.from_result(data, row["status"] if row else None)
        if task_id not in state.tasks or not (data.get("plan") or {}).get("tasks"):
            raise SessionError(f"Task #{task_id} is not in this turn's plan.")
        stale = {task_id}
        for group in state.generations():
            for tid in group:
                if stale & set(state.tasks[tid].dep):
                    stale.add(tid)
        self.rerun_keep = {tid: copy.deepcopy(t) for tid, t in state.tasks.items() if tid not in stale}
        for tid in stale:
            state.tasks[tid].status, state.tasks[tid].result = "selecting", None
        state.status, state.answer, state.response = "running", "", "waiting"
        conv_id = (row or {}).get("conversation_id") or self.conv_id
        self.running_turn, self.running_conv = turn_id, conv_id
        note = f"Re-running task #{task_id} with {model}"
        self.add_note(note, conv_id)
        return Rerun(conv_id, turn_id, task_id, model, data, stale, note)

    # ------------------------------------------------------------------ model downloads on nodes
    def fold_download(self, e: ev.DownloadProgress, fetching: tuple[str, int, str] = ("", 0, "")) -> \
            tuple[str, set[int]]:
        """Show a model download on the nodes of the task waiting for that model: the one a download
        from the window is for (`fetching` = (turn id, task id, model)), else those of the running turn
        that use it. Returns the turn and the nodes that changed."""
        fetching_turn, fetching_task, fetching_model = fetching
        turn_id = fetching_turn if fetching_model and e.model == fetching_model else self.running_turn
        state = self.turns.get(turn_id)
        if state is None:
            return "", set()
        changed = set()
        for t in state.tasks.values():
            if (t.model == e.model and t.status in ("pending", "running")) or (t.id == fetching_task and t.downloading):
                t.status = "running"
                t.fraction = e.done_bytes / e.total_bytes if e.total_bytes and not e.finished else None
                t.message = "download failed" if e.error else (
                    "model downloaded" if e.finished else f"downloading {e.filename}")
                changed.add(t.id)
        return state.turn_id, changed
