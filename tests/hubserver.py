"""A Hub-compatible HTTP server on 127.0.0.1 for tests: real files, the endpoints huggingface_hub 2.x calls.

Serves, per repo: `GET /api/models/<repo>[/revision/<rev>]` (model info, `?blobs=true` adds sizes and
LFS sha256), `GET /api/models/<repo>/tree/<rev>` (file listing for snapshot_download), and
`HEAD|GET /<repo>/resolve/<rev>/<file>` with ETag / X-Repo-Commit / X-Linked-Etag / X-Linked-Size
headers and HTTP Range support. Errors carry the Hub's X-Error-Code (RepoNotFound, EntryNotFound,
RevisionNotFound, GatedRepo) so huggingface_hub raises its own exception types.

Fault injection for tests: `cut_after[file] = n` drops the connection after n bytes of the next
GET of that file, `corrupt_next.add(file)` flips a byte in the next GET, `throttle_bps` slows
every body down. `requests` records every request line.

Use the `hub_server` fixture (in a test module: `from tests import hubserver` and
`hub_server = hubserver.hub_server`): `hub_server.add_repo("org/name", {...})`
or `add_folder("org/name", path)` (e.g. a tiny random-weight model written with save_pretrained);
HF_ENDPOINT and huggingface_hub's endpoint constants point at it, and the models cache is a temp dir."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from core.models.layout import is_lfs


@dataclass
class FakeRepo:
    repo_id: str
    files: dict[str, bytes]
    gated: bool = False
    pipeline_tag: str | None = None
    downloads: int = 0
    likes: int = 0
    license: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def commit(self) -> str:
        h = hashlib.sha1(self.repo_id.encode(), usedforsecurity=False)
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return h.hexdigest()

    def etag(self, name: str) -> str:
        data = self.files[name]
        if is_lfs(name):
            return hashlib.sha256(data).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()

    def sibling(self, name: str, blobs: bool) -> dict:
        entry: dict = {"rfilename": name}
        if blobs:
            data = self.files[name]
            git_oid = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
            entry.update(size=len(data), blobId=git_oid)
            if is_lfs(name):
                entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry


class HubServer:
    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.tokens: set[str] = set()  # bearer tokens that unlock gated repos
        self.cut_after: dict[str, int] = {}
        self.corrupt_next: set[str] = set()
        self.throttle_bps: float = 0.0
        self.requests: list[str] = []
        self.ranges: list[tuple[str, str]] = []  # (path, Range header) of ranged requests
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content --------------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict[str, bytes | str], **facts) -> FakeRepo:
        data = {k: v.encode() if isinstance(v, str) else bytes(v) for k, v in files.items()}
        repo = FakeRepo(repo_id, data, **facts)
        self.repos[repo_id] = repo
        return repo

    def add_folder(self, repo_id: str, folder: Path, **facts) -> FakeRepo:
        folder = Path(folder)
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_repo(repo_id, files, **facts)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hubserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler_for(server: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_HEAD(self) -> None:
            self._route(head=True)

        def do_GET(self) -> None:
            self._route(head=False)

        # -- helpers ----------------------------------------------------------------------------
        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _error(self, status: int, code: str, message: str, head: bool, extra: dict | None = None) -> None:
            headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
            headers.update(extra or {})
            self._send(status, json.dumps({"error": message}).encode(), headers, head)

        def _json(self, obj, head: bool) -> None:
            self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"}, head)

        def _authorized(self, repo: FakeRepo) -> bool:
            if not repo.gated:
                return True
            auth = self.headers.get("Authorization", "")
            return auth.startswith("Bearer ") and auth[7:] in server.tokens

        # -- routing ----------------------------------------------------------------------------
        def _route(self, head: bool) -> None:
            server.requests.append(f"{self.command} {self.path}")
            if self.headers.get("Range"):
                server.ranges.append((unquote(urlparse(self.path).path), self.headers["Range"]))
            parsed = urlparse(self.path)
            path = unquote(parsed.path)
            query = parse_qs(parsed.query)
            if path.startswith("/api/models/"):
                return self._api(path[len("/api/models/"):], query, head)
            if "/resolve/" in path:
                repo_id, _, rest = path.lstrip("/").partition("/resolve/")
                revision, _, filename = rest.partition("/")
                return self._resolve(repo_id, revision, filename, head)
            self._error(404, "NotFound", "unknown endpoint", head)

        def _repo(self, repo_id: str, head: bool) -> FakeRepo | None:
            repo = server.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found", head)
            return repo

        def _revision_ok(self, repo: FakeRepo, revision: str, head: bool) -> bool:
            if revision in ("main", repo.commit):
                return True
            self._error(404, "RevisionNotFound", "Invalid rev id: " + revision, head)
            return False

        def _api(self, rest: str, query: dict, head: bool) -> None:
            parts = rest.split("/")
            repo_id = "/".join(parts[:2])
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            tail = parts[2:]
            revision = "main"
            if tail[:1] == ["revision"] and len(tail) >= 2:
                revision = tail[1]
            elif tail[:1] == ["tree"] and len(tail) >= 2:
                if not self._revision_ok(repo, tail[1], head):
                    return
                entries = []
                for name in sorted(repo.files):
                    sib = repo.sibling(name, True)
                    entry = {"type": "file", "path": name, "size": sib["size"], "oid": sib["blobId"]}
                    if "lfs" in sib:
                        entry["lfs"] = {"oid": sib["lfs"]["sha256"], "size": sib["size"], "pointerSize": 134}
                    entries.append(entry)
                return self._json(entries, head)
            elif tail:
                return self._error(404, "NotFound", "unknown endpoint", head)
            if not self._revision_ok(repo, revision, head):
                return
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            info = {"id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.commit, "private": False,
                    "gated": "manual" if repo.gated else False, "disabled": False,
                    "downloads": repo.downloads, "likes": repo.likes, "pipeline_tag": repo.pipeline_tag,
                    "tags": repo.tags, "cardData": {"license": repo.license} if repo.license else {},
                    "siblings": [repo.sibling(n, blobs) for n in sorted(repo.files)]}
            self._json(info, head)

        def _resolve(self, repo_id: str, revision: str, filename: str, head: bool) -> None:
            repo = self._repo(repo_id, head)
            if repo is None or not self._revision_ok(repo, revision, head):
                return
            if not self._authorized(repo):
                return self._error(401, "GatedRepo", "Access to model is restricted; you must be authenticated",
                                   head)
            commit = {"X-Repo-Commit": repo.commit}
            if filename not in repo.files:
                return self._error(404, "EntryNotFound", "Entry not found", head, commit)
            data = repo.files[filename]
            etag = repo.etag(filename)
            headers = {**commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}
            if is_lfs(filename):
                headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
            start, end, status = 0, len(data) - 1, 200
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes="):
                first, _, last = rng[6:].partition("-")
                start = int(first or 0)
                end = min(int(last), len(data) - 1) if last else len(data) - 1
                if start >= len(data):
                    return self._send(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"}, head)
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            body = data[start:end + 1]
            if head:
                return self._head(status, headers, len(body))
            if filename in server.corrupt_next:
                server.corrupt_next.discard(filename)
                body = bytes([body[0] ^ 0xFF]) + body[1:] if body else body
            self._stream(status, headers, body, server.cut_after.pop(filename, None))

        def _head(self, status: int, headers: dict, length: int) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def _stream(self, status: int, headers: dict, body: bytes, cut: int | None) -> None:
            self._head(status, headers, len(body))
            chunk = 64 * 1024
            sent = 0
            try:
                while sent < len(body):
                    piece = body[sent:sent + chunk]
                    if cut is not None and sent + len(piece) > cut:
                        self.wfile.write(piece[:max(cut - sent, 0)])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)  # the client sees a truncated body
                        return
                    self.wfile.write(piece)
                    sent += len(piece)
                    if server.throttle_bps:
                        time.sleep(len(piece) / server.throttle_bps)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def point_hub_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Make every Hub client in this process use `url` (env for subprocesses, constants for this one)."""
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    try:
        from huggingface_hub import constants
    except ImportError:
        return
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def use_temp_models_cache(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """A private, empty models cache (MAESTRO_MODELS + HF_HUB_CACHE) so downloads do not touch models_cache/."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("MAESTRO_MODELS", str(folder))
    monkeypatch.setenv("HF_HUB_CACHE", str(folder / "hub"))
    try:
        from huggingface_hub import constants
    except ImportError:
        return folder
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(folder / "hub"))
    return folder


@pytest.fixture
def hub_server(monkeypatch, tmp_path):
    """A running HubServer with HF_ENDPOINT pointing at it and an empty temp models cache."""
    with HubServer() as server:
        point_hub_at(monkeypatch, server.url)
        use_temp_models_cache(monkeypatch, tmp_path / "models")
        yield server
