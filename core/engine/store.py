"""SQLite history: conversations, messages, turns (the TurnResult dict), tasks and artifacts.

WAL journal so a reader (the window) never blocks the writer and a killed process loses at
most the transaction in flight; `PRAGMA user_version` carries the schema version and
`MIGRATIONS[n]` takes a database from version n to n+1. A turn still `running` when its
process died is marked `interrupted` the next time the store opens."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.paths import data_dir, safe_name
from core.errors import StoreError

DB_NAME = "maestro.db"

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content TEXT NOT NULL,
        turn_id TEXT,
        files TEXT NOT NULL DEFAULT '[]',
        created REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE turns (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        session_dir TEXT,
        error TEXT,
        pid INTEGER,
        created REAL NOT NULL,
        finished REAL
    );
    CREATE INDEX turns_by_conversation ON turns(conversation_id, created);
    CREATE TABLE tasks (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        task_id INTEGER NOT NULL,
        task TEXT NOT NULL,
        status TEXT NOT NULL,
        model TEXT,
        runtime TEXT,
        reason TEXT,
        error TEXT,
        duration_s REAL,
        PRIMARY KEY (turn_id, task_id)
    );
    CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        task_id INTEGER,
        path TEXT NOT NULL,
        modality TEXT NOT NULL,
        mime TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX artifacts_by_turn ON artifacts(turn_id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
TURN_STATUSES = ("running", "done", "failed", "cancelled", "interrupted")


@dataclass
class Conversation:
    id: str
    title: str
    created: float
    updated: float


@dataclass
class Message:
    id: int
    conversation_id: str
    role: str
    content: str
    turn_id: str | None = None
    files: list[str] = field(default_factory=list)
    created: float = 0.0


def default_db_path() -> Path:
    return data_dir() / DB_NAME


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


class Store:
    """One connection shared by the threads of a process (guarded by a lock)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives an application crash (SIGKILL); only a power cut can lose
        # the last commits, and the database stays consistent either way.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self.interrupted_on_open = self._mark_interrupted()

    # ----------------------------------------------------------------- plumbing
    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer Maestro (schema {version}, "
                                 f"this one knows up to {SCHEMA_VERSION}); update Maestro to open it")
            for n in range(version, SCHEMA_VERSION):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(MIGRATIONS[n]):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={n + 1}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def _tx(self) -> _Tx:
        return _Tx(self)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def schema_version(self) -> int:
        return int(self._query("PRAGMA user_version")[0][0])

    def integrity_check(self) -> str:
        return str(self._query("PRAGMA integrity_check")[0][0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _mark_interrupted(self) -> int:
        rows = self._query("SELECT id, pid FROM turns WHERE status = 'running'")
        dead = [r["id"] for r in rows if not _pid_alive(r["pid"])]
        if dead:
            with self._tx() as db:
                for tid in dead:
                    db.execute("UPDATE turns SET status='interrupted', finished=?, "
                               "error='Maestro stopped while this turn was running' WHERE id=?",
                               (time.time(), tid))
        return len(dead)

    # ----------------------------------------------------------------- conversations
    def new_conversation(self, title: str = "New conversation") -> Conversation:
        now = time.time()
        conv = Conversation(uuid.uuid4().hex[:12], title.strip() or "New conversation", now, now)
        with self._tx() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?)",
                       (conv.id, conv.title, conv.created, conv.updated))
        return conv

    def conversation(self, conversation_id: str) -> Conversation:
        rows = self._query("SELECT * FROM conversations WHERE id=?", (conversation_id,))
        if not rows:
            raise StoreError(f"no conversation {conversation_id!r}")
        return Conversation(**dict(rows[0]))

    def conversations(self, query: str = "") -> list[Conversation]:
        """Newest first; `query` matches the title or any message text (case-insensitive)."""
        if query.strip():
            like = f"%{_escape_like(query.strip())}%"
            rows = self._query(
                "SELECT * FROM conversations c WHERE c.title LIKE ? ESCAPE '\\' OR EXISTS ("
                "SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\\')"
                " ORDER BY updated DESC", (like, like))
        else:
            rows = self._query("SELECT * FROM conversations ORDER BY updated DESC")
        return [Conversation(**dict(r)) for r in rows]

    def search(self, query: str) -> list[Conversation]:
        return self.conversations(query)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        title = title.strip()
        if not title:
            raise StoreError("a conversation title cannot be empty")
        with self._tx() as db:
            cur = db.execute("UPDATE conversations SET title=? WHERE id=?", (title, conversation_id))
            if cur.rowcount == 0:
                raise StoreError(f"no conversation {conversation_id!r}")

    def delete_conversation(self, conversation_id: str, remove_files: bool = True) -> None:
        """Delete a conversation with its messages and turns; its session folders too, when they
        live in this data folder (never anything outside it)."""
        dirs = [r["session_dir"] for r in self._query(
            "SELECT session_dir FROM turns WHERE conversation_id=?", (conversation_id,))]
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))
        if remove_files:
            sessions = (self.path.parent / "sessions").resolve()
            for d in dirs:
                if d and sessions in Path(d).resolve().parents:
                    shutil.rmtree(d, ignore_errors=True)

    # ----------------------------------------------------------------- messages
    def add_message(self, conversation_id: str, role: str, content: str, turn_id: str | None = None,
                    files: Iterable[str | Path] = ()) -> Message:
        now = time.time()
        names = [str(f) for f in files]
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO messages (conversation_id, role, content, turn_id, files, created) "
                "VALUES (?, ?, ?, ?, ?, ?)", (conversation_id, role, content, turn_id, json.dumps(names), now))
            db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))
        return Message(int(cur.lastrowid or 0), conversation_id, role, content, turn_id, names, now)

    def messages(self, conversation_id: str) -> list[Message]:
        rows = self._query("SELECT * FROM messages WHERE conversation_id=? ORDER BY id", (conversation_id,))
        return [Message(r["id"], r["conversation_id"], r["role"], r["content"], r["turn_id"],
                        json.loads(r["files"] or "[]"), r["created"]) for r in rows]

    # ----------------------------------------------------------------- turns
    def begin_turn(self, conversation_id: str, turn_id: str, request: str,
                   files: Iterable[str | Path] = (), session_dir: Path | str | None = None) -> Message:
        """Record the user's message and a `running` turn in one transaction."""
        now = time.time()
        names = [str(f) for f in files]
        with self._tx() as db:
            db.execute("INSERT INTO turns (id, conversation_id, request, status, session_dir, pid, created) "
                       "VALUES (?, ?, ?, 'running', ?, ?, ?)",
                       (turn_id, conversation_id, request, str(session_dir) if session_dir else None,
                        os.getpid(), now))
            cur = db.execute(
                "INSERT INTO messages (conversation_id, role, content, turn_id, files, created) "
                "VALUES (?, 'user', ?, ?, ?, ?)", (conversation_id, request, turn_id, json.dumps(names), now))
            db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))
        return Message(int(cur.lastrowid or 0), conversation_id, "user", request, turn_id, names, now)

    def finish_turn(self, conversation_id: str, result: dict[str, Any]) -> Message:
        """Store a finished TurnResult.to_dict(): the turn, its tasks and artifacts, and the
        assistant's message (the answer, or the error), in one transaction."""
        turn_id = str(result.get("turn_id") or uuid.uuid4().hex[:12])
        status = str(result.get("status") or "done")
        if status not in TURN_STATUSES:
            status = "failed"
        now = time.time()
        answer = result.get("answer") or ""
        content = answer or (f"The turn {status}: {result.get('error')}" if result.get("error")
                             else f"The turn {status}.")
        selections = result.get("selections") or {}
        with self._tx() as db:
            exists = db.execute("SELECT 1 FROM turns WHERE id=?", (turn_id,)).fetchone()
            if not exists:
                db.execute("INSERT INTO turns (id, conversation_id, request, status, created) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (turn_id, conversation_id, result.get("request") or "", status, now))
            db.execute("UPDATE turns SET status=?, result=?, session_dir=COALESCE(?, session_dir), error=?, "
                       "finished=? WHERE id=?",
                       (status, json.dumps(result, default=str), result.get("session_dir"),
                        result.get("error"), now, turn_id))
            db.execute("DELETE FROM tasks WHERE turn_id=?", (turn_id,))
            db.execute("DELETE FROM artifacts WHERE turn_id=?", (turn_id,))
            for r in result.get("results") or []:
                sel = selections.get(r.get("id")) or selections.get(str(r.get("id"))) or {}
                db.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (turn_id, r.get("id"), r.get("task", ""), r.get("status", ""), r.get("model"),
                            r.get("runtime"), sel.get("reason"), r.get("error"), r.get("duration_s")))
                for f in ((r.get("output") or {}).get("files") or []):
                    db.execute("INSERT INTO artifacts (turn_id, task_id, path, modality, mime) "
                               "VALUES (?, ?, ?, ?, ?)",
                               (turn_id, r.get("id"), f.get("path", ""), f.get("modality", ""),
                                f.get("mime", "")))
            cur = db.execute(
                "INSERT INTO messages (conversation_id, role, content, turn_id, files, created) "
                "VALUES (?, 'assistant', ?, ?, '[]', ?)", (conversation_id, content, turn_id, now))
            db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))
        return Message(int(cur.lastrowid or 0), conversation_id, "assistant", content, turn_id, [], now)

    def set_request_files(self, turn_id: str, files: Iterable[str | Path]) -> None:
        """Point the user's message at the session copies of its files (the originals may move)."""
        with self._tx() as db:
            db.execute("UPDATE messages SET files=? WHERE turn_id=? AND role='user'",
                       (json.dumps([str(f) for f in files]), turn_id))

    def save_partial(self, turn_id: str, partial: dict[str, Any]) -> None:
        """Keep what a running turn has so far (plan, selections, finished tasks), so a crash
        loses at most the task in flight; finish_turn replaces it with the full result."""
        with self._tx() as db:
            db.execute("UPDATE turns SET result=? WHERE id=? AND status='running'",
                       (json.dumps(partial, default=str), turn_id))

    def turn(self, turn_id: str) -> dict[str, Any] | None:
        """The stored row of a turn: status, request, and `result` (the TurnResult dict, or None)."""
        rows = self._query("SELECT * FROM turns WHERE id=?", (turn_id,))
        if not rows:
            return None
        row = dict(rows[0])
        row["result"] = json.loads(row["result"]) if row["result"] else None
        return row

    def turns(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT id FROM turns WHERE conversation_id=? ORDER BY created", (conversation_id,))
        return [t for t in (self.turn(r["id"]) for r in rows) if t]

    def history(self, conversation_id: str) -> list[dict[str, Any]]:
        """Earlier finished turns as TurnResult dicts, oldest first: the engine's `history`
        (running and interrupted turns are left out: their results are incomplete)."""
        return [t["result"] for t in self.turns(conversation_id)
                if t["result"] and t["status"] not in ("running", "interrupted")]

    def tasks(self, turn_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._query("SELECT * FROM tasks WHERE turn_id=? ORDER BY task_id", (turn_id,))]

    def artifacts(self, turn_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._query("SELECT * FROM artifacts WHERE turn_id=? ORDER BY id", (turn_id,))]

    # ----------------------------------------------------------------- export
    def export_markdown(self, conversation_id: str, dest: Path) -> Path:
        """A readable transcript: messages, and for each answered turn its plan and task results."""
        conv = self.conversation(conversation_id)
        turns = {t["id"]: t for t in self.turns(conversation_id)}
        lines = [f"# {conv.title}", "",
                 f"_Exported from Maestro on {time.strftime('%Y-%m-%d %H:%M', time.localtime())}_", ""]
        for m in self.messages(conversation_id):
            lines.append(f"## {'You' if m.role == 'user' else 'Maestro'}")
            lines.append("")
            lines.append(m.content)
            for f in m.files:
                lines.append(f"- attached: `{Path(f).name}`")
            turn = turns.get(m.turn_id or "")
            if m.role == "assistant" and turn and turn["result"]:
                lines.extend(_markdown_tasks(turn["result"]))
            lines.append("")
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("\n".join(lines), encoding="utf-8")
        return dest

    def export_json(self, conversation_id: str, dest_dir: Path) -> Path:
        """`dest_dir/conversation.json` plus `dest_dir/artifacts/<turn>/...` holding each turn's
        inputs and artifacts; paths in the JSON are made relative to dest_dir."""
        conv = self.conversation(conversation_id)
        dest_dir = Path(dest_dir)
        (dest_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        turns_out = []
        for t in self.turns(conversation_id):
            copied: dict[str, str] = {}
            session = Path(t["session_dir"]) if t["session_dir"] else None
            if session and session.is_dir():
                target = dest_dir / "artifacts" / safe_name(t["id"])
                for sub in ("inputs", "artifacts"):
                    src = session / sub
                    if src.is_dir():
                        # Links are left out: an export copies the session's own files only.
                        shutil.copytree(src, target / sub, dirs_exist_ok=True,
                                        ignore=lambda d, names: [n for n in names if (Path(d) / n).is_symlink()])
                        for f in src.rglob("*"):
                            if f.is_file() and not f.is_symlink():
                                rel = (target / sub / f.relative_to(src)).relative_to(dest_dir)
                                copied[str(f)] = rel.as_posix()
                                copied[str(f.resolve())] = rel.as_posix()
            t = dict(t)
            t["result"] = _rewrite_paths(t["result"], copied) if t["result"] else None
            t.pop("pid", None)
            turns_out.append(t)
        doc = {
            "format": "maestro-conversation",
            "schema_version": SCHEMA_VERSION,
            "conversation": conv.__dict__,
            "messages": [m.__dict__ for m in self.messages(conversation_id)],
            "turns": turns_out,
        }
        out = dest_dir / "conversation.json"
        out.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return out


class _Tx:
    """`with store._tx() as db:` = one IMMEDIATE transaction under the store's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        self.store._db.execute("BEGIN IMMEDIATE")
        return self.store._db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()


def _statements(script: str) -> list[str]:
    # executescript() would commit our transaction; split on ';' instead (no ';' inside our DDL).
    return [s.strip() for s in script.split(";") if s.strip()]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rewrite_paths(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [_rewrite_paths(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite_paths(v, mapping) for k, v in value.items()}
    return value


def _markdown_tasks(result: dict[str, Any]) -> list[str]:
    rows = result.get("results") or []
    if not rows:
        return []
    out = ["", "| # | task | model | status | seconds | output |", "|---|---|---|---|---|---|"]
    for r in rows:
        output = r.get("output") or {}
        text = (output.get("text") or r.get("error") or "").replace("\n", " ").replace("|", "\\|")
        if len(text) > 80:
            text = text[:77] + "..."
        files = ", ".join(f"`{Path(f.get('path', '')).name}`" for f in output.get("files") or [])
        secs = r.get("duration_s")
        secs_text = f"{secs:.1f}" if isinstance(secs, (int, float)) else ""
        shown = " ".join(x for x in (text, files) if x)
        out.append(f"| {r.get('id')} | {r.get('task')} | {r.get('model') or ''} | {r.get('status')} | "
                   f"{secs_text} | {shown} |")
    return out
