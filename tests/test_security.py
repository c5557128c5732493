"""Security: no remote code, no pickle weights unless opted in, nothing written or read outside its
folder, the endpoint key only in the keyring, and no listening socket during a turn."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.config.paths import inside, new_session_dir, safe_name
from core.execution.executor import Assignment, Executor
from core.execution.runners.base import RunContext
from core.models import downloads
from core.models.entry import ModelEntry
from core.plan import parse_plan
from tests.hubserver import hub_server  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("core", "cli", "desktop", "benchmarks", "packaging", "scripts")


def _python_files() -> list[Path]:
    files = [ROOT / "main.py"]
    for d in CODE_DIRS:
        if (ROOT / d).is_dir():
            files += sorted((ROOT / d).rglob("*.py"))
    return files


# -- remote code ---------------------------------------------------------------------------------------
def test_no_code_enables_trust_remote_code():
    pattern = re.compile(r"trust_remote_code\s*[=:]\s*(?!False\b)|[\"']trust_remote_code[\"']\s*:\s*(?!False\b)")
    offenders = []
    for path in _python_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
    assert len(_python_files()) > 30  # the scan really covered the code base


EVIL = """
from pathlib import Path
Path({marker!r}).write_text("remote code ran")
from transformers import BertConfig, BertForSequenceClassification
class EvilConfig(BertConfig):
    model_type = "evil-bert"
class EvilModel(BertForSequenceClassification):
    config_class = EvilConfig
"""


def _tiny_classifier(folder: Path) -> Path:
    from tests.tiny_models import bert_classifier

    return bert_classifier(folder)


def _classify(model_id: str, settings: dict | None = None):
    entry = ModelEntry(id=model_id, task="text-classification", runtime="transformers")
    plan = parse_plan({"tasks": [{"id": 1, "task": "text-classification", "dep": [],
                                  "args": {"text": "I love this great photo."}}]})
    executor = Executor(settings={"device": "cpu", **(settings or {})})
    return executor.run(plan, {1: Assignment(entry)}, new_session_dir())[1]


@pytest.mark.slow
@pytest.mark.parametrize("model_type", ["bert", "evil-bert"])
def test_repo_with_custom_code_never_runs_it(hub_server, tmp_path, model_type):  # noqa: F811
    folder = _tiny_classifier(tmp_path / "repo")
    marker = tmp_path / "REMOTE_CODE_RAN"
    (folder / "modeling_evil.py").write_text(EVIL.format(marker=str(marker)))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_type"] = model_type
    cfg["auto_map"] = {"AutoConfig": "modeling_evil.EvilConfig",
                       "AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(cfg))
    repo = f"evil/{model_type}"
    hub_server.add_folder(repo, folder)
    downloads.download(repo, files=["*"])
    result = _classify(repo)
    assert not marker.exists(), "the repo's Python file was executed"
    if model_type == "bert":  # a known architecture loads with the library's own code
        assert result.status == "done", result.error
    else:  # an unknown one needs the repo's code: refused with a sentence
        assert result.status == "failed" and result.error.startswith(f"could not load {repo}")
        assert "Traceback" not in result.error


# -- pickle weights --------------------------------------------------------------------------------------
class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pickle code ran')",))


def _pickle_only(folder: Path, marker: Path | None = None) -> Path:
    import torch
    from safetensors.torch import load_file

    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    if marker is not None:
        state["evil"] = _Payload(str(marker))  # a state dict that runs code when unpickled
    torch.save(state, folder / "pytorch_model.bin")
    return folder


@pytest.mark.slow
def test_pickle_weights_refused_unless_opted_in_per_model(hub_server, tmp_path):  # noqa: F811
    folder = _pickle_only(_tiny_classifier(tmp_path / "repo"))
    hub_server.add_folder("org/pickled", folder)
    hub_server.add_folder("org/other", folder)
    with pytest.raises(downloads.DownloadError, match="only has pickle weights"):
        downloads.download("org/pickled")  # the default file choice refuses it too
    downloads.download("org/pickled", files=["*"])  # fetched explicitly: the runner is the last guard
    refused = _classify("org/pickled")
    assert refused.status == "failed" and "only has pickle weights (pytorch_model.bin)" in refused.error
    # opting in another model does not open this one
    assert _classify("org/pickled", {"allow_pickle_models": ["org/other"]}).status == "failed"
    allowed = _classify("org/pickled", {"allow_pickle_models": ["org/pickled"]})
    assert allowed.status == "done", allowed.error
    assert allowed.output.data.get("labels") or allowed.output.text


@pytest.mark.slow
def test_opted_in_pickle_still_cannot_run_code(hub_server, tmp_path):  # noqa: F811
    marker = tmp_path / "PICKLE_CODE_RAN"
    folder = _pickle_only(_tiny_classifier(tmp_path / "repo"), marker)
    hub_server.add_folder("org/evil-pickle", folder)
    downloads.download("org/evil-pickle", files=["*"])
    result = _classify("org/evil-pickle", {"allow_pickle_models": ["org/evil-pickle"]})
    assert not marker.exists(), "unpickling ran the payload"
    assert result.status == "failed" and "Traceback" not in result.error


# -- paths ----------------------------------------------------------------------------------------------
HOSTILE_NAMES = ["../../etc/passwd", "/etc/passwd", "..", ".", "", "a/../../b.png", "..\\..\\win.ini",
                 "~/.ssh/id_rsa", "x" * 400 + ".png", "nul\0byte.png", "Ω≈ç√.png", ".hidden"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_artifact_names_from_model_output_stay_inside(name, tmp_path):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    path = inside(folder, name)
    assert path.parent == folder.resolve() and "/" not in safe_name(name) and ".." != path.name
    ctx = RunContext(task_id=1, task="text-to-image", model=ModelEntry(id="m", task="t", runtime="r"),
                     artifacts_dir=folder)
    art = ctx.artifact_path(".png", stem=name)
    assert art.parent == folder.resolve()


def test_symlinked_folder_cannot_redirect_artifacts(tmp_path):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "escape").symlink_to(outside)
    with pytest.raises(ValueError, match="refusing to write outside"):
        # safe_name keeps "escape" as is; the resolved target would leave the folder
        inside(folder, "escape")


@pytest.mark.parametrize("value", ["/etc/passwd", "../../etc/passwd", "../inputs/../../../etc/hostname",
                                   "~/.bashrc", "linked.png"])
def test_plan_args_cannot_reach_files_outside_the_session(value, tmp_path):
    """A planner (or a file's text) naming a path outside the session gets nothing from it."""
    session = new_session_dir()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"top secret")
    (session / "inputs" / "linked.png").symlink_to(secret)  # planted in the session, pointing out
    seen = {}

    class Spy:
        runtime = "spy"

        def run(self, ctx, inputs):
            seen.update(inputs)
            raise AssertionError("must not run")

    plan = parse_plan({"tasks": [{"id": 1, "task": "image-classification", "dep": [], "args": {"image": value}}]})
    entry = ModelEntry(id="spy", task="image-classification", runtime="spy")
    r = Executor(runner_lookup=lambda rt: Spy()).run(plan, {1: Assignment(entry)}, session)[1]
    assert r.status == "failed" and not seen
    assert "not attached" in r.error or "outside" in r.error, r.error


def test_attached_symlink_is_copied_as_a_regular_file(tmp_path):
    from core.config.settings import Settings
    from core.engine.pipeline import Engine, TurnResult

    target = tmp_path / "photo.png"
    target.write_bytes(b"\x89PNG fake")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    session = new_session_dir()
    turn = TurnResult("t", "r", session_dir=session)
    Engine(Settings(), controller=object())._attach([link, tmp_path / "../../etc/../nope.png"], session, turn)
    (copied,) = [Path(f) for f in turn.files]
    assert copied.parent == session / "inputs" and not copied.is_symlink()
    assert copied.read_bytes() == target.read_bytes()
    assert turn.warnings and "not found" in turn.warnings[0]


# -- the endpoint key ----------------------------------------------------------------------------------
class MemoryKeyring:
    """A keyring backend that keeps secrets in a dict (the OS one is unavailable on a headless CI box)."""

    def __new__(cls):
        from keyring.backend import KeyringBackend

        class _Backend(KeyringBackend):
            priority = 10

            def __init__(self):
                super().__init__()
                self.store: dict[tuple[str, str], str] = {}

            def get_password(self, service, username):
                return self.store.get((service, username))

            def set_password(self, service, username, password):
                self.store[(service, username)] = password

            def delete_password(self, service, username):
                from keyring.errors import PasswordDeleteError

                if (service, username) not in self.store:
                    raise PasswordDeleteError("not found")
                del self.store[(service, username)]

        return _Backend()


@pytest.fixture
def memory_keyring():
    import keyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


SECRET = "sk-test-4f1d9c2b7a6e5d3c"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.seen.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error": {"message": "model overloaded"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST


def test_endpoint_key_lives_in_the_keyring_only(memory_keyring, tmp_path, monkeypatch):
    from core.config import secrets
    from core.config.logs import setup_logging
    from core.config.settings import Settings, load_settings, save_settings, settings_path
    from core.llm.controllers import load_controller

    log_path = setup_logging(logging.DEBUG)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    try:
        secrets.set_endpoint_key(url, SECRET)
        assert secrets.get_endpoint_key(url.rstrip("/")) == SECRET  # one endpoint, either spelling
        settings = Settings(endpoint_url=url, endpoint_model="m", endpoint_key_in_keyring=True)
        save_settings(settings)
        assert SECRET not in settings_path().read_text()
        controller = load_controller(load_settings())
        with pytest.raises(Exception) as err:  # noqa: PT011 - whatever the endpoint error type is
            controller.chat([{"role": "user", "content": "hi"}], max_tokens=4)
        logging.getLogger("maestro").exception("endpoint call failed: %s", err.value)
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.seen and _Recorder.seen[-1] == f"Bearer {SECRET}"  # the key was really used
    assert SECRET not in str(err.value) and SECRET not in repr(err.value)
    for handler in logging.getLogger().handlers:
        handler.flush()
    logs = "".join(p.read_text() for p in log_path.parent.glob("*.log*"))
    assert "endpoint key stored in the keyring" in logs and SECRET not in logs
    assert secrets.delete_endpoint_key(url) is True and secrets.get_endpoint_key(url) is None
    assert secrets.delete_endpoint_key(url) is False


def test_no_keyring_backend_is_a_clear_error_not_a_plaintext_fallback(monkeypatch):
    import keyring
    from keyring.backends import fail

    from core.config import secrets

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert secrets.available() is False
        assert secrets.get_endpoint_key("http://127.0.0.1:1/v1") is None
        with pytest.raises(secrets.SecretsError, match="no OS keyring"):
            secrets.set_endpoint_key("http://127.0.0.1:1/v1", SECRET)
    finally:
        keyring.set_keyring(previous)


# -- sockets -----------------------------------------------------------------------------------------
LISTEN_PROBE = r"""
import os, sys
sys.path.insert(0, {root!r})
binds = []
sys.addaudithook(lambda event, args: binds.append(repr(args)) if event == "socket.bind" else None)

def listening_inodes():
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if table.startswith("/proc/net/tcp") and cols[3] != "0A":  # 0A = LISTEN
                continue
            inodes.add(cols[9])
    return inodes

def my_socket_inodes():
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{{fd}}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out

import main
code = main.main(["ask", "What is the sentiment of this sentence: I really love this phone", "--json"])
import json
print(json.dumps({{"code": code, "binds": binds, "listening": sorted(listening_inodes() & my_socket_inodes())}}),
      file=sys.stderr)
"""


@pytest.mark.slow
def test_a_real_turn_opens_no_listening_socket(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAESTRO_DATA": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-c", LISTEN_PROBE.format(root=str(ROOT))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    turn = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr[-2000:]
    assert any(r["status"] == "done" for r in turn["results"])  # a real task ran
    assert report["binds"] == [] and report["listening"] == []


def test_export_stays_in_its_folder(tmp_path):
    from core.engine.store import Store

    store = Store(tmp_path / "db.sqlite")
    conv = store.new_conversation("x")
    session = new_session_dir("s1")
    (session / "artifacts" / "a.png").write_bytes(b"png")
    store.begin_turn(conv.id, "../../escape", "hi", session_dir=session)
    store.finish_turn(conv.id, {"turn_id": "../../escape", "status": "done", "answer": "ok",
                                "session_dir": str(session), "results": []})
    dest = tmp_path / "export" / "inner"
    store.export_json(conv.id, dest)
    written = [p for p in (tmp_path).rglob("*") if p.is_file() and "export" in p.parts]
    assert written and all(dest.resolve() in p.resolve().parents for p in written)
    store.close()
    shutil.rmtree(dest)


def _accept_endpoint_key(qtbot, dialog):
    """Fill the settings dialog with a local endpoint and its API key, and press OK."""
    qtbot.addWidget(dialog)
    dialog.source.setCurrentIndex(3)
    dialog.endpoint_url.setText("http://127.0.0.1:8080/v1")
    dialog.endpoint_key.setText(SECRET)
    dialog.accept()
    return dialog


def test_settings_dialog_puts_the_key_in_the_keyring_only(memory_keyring, qtbot):
    from core.config.settings import Settings, load_settings, settings_path
    from desktop.settings_dialog import SettingsDialog

    _accept_endpoint_key(qtbot, SettingsDialog(Settings()))
    saved = load_settings()
    assert saved.endpoint_key_in_keyring is True
    assert SECRET not in settings_path().read_text(encoding="utf-8")
    from core.config.secrets import get_endpoint_key

    assert get_endpoint_key("http://127.0.0.1:8080/v1") == SECRET


def test_settings_dialog_without_a_keyring_says_so(qtbot, monkeypatch):
    from core.config import secrets
    from core.config.settings import Settings, settings_path
    from desktop.settings_dialog import SettingsDialog

    monkeypatch.setattr(secrets, "_keyring", lambda: None)
    dialog = _accept_endpoint_key(qtbot, SettingsDialog(Settings()))
    assert not dialog.error.isHidden() and "no OS keyring" in dialog.error.text()
    assert not settings_path().exists() or SECRET not in settings_path().read_text(encoding="utf-8")
