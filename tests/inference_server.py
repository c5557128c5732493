"""A server on 127.0.0.1 speaking the Hugging Face inference protocol (as TGI/TEI and Inference
Endpoints do) for two task types, backed by REAL local models so the answers mean something:

    POST /sentiment   {"inputs": "text", "parameters": {}}  -> [[{"label", "score"}, ...]]   (VADER)
    POST /asr         <audio file bytes>                      -> {"text": "..."}              (whisper tiny.en)

`requests` records (path, content-type, body size) of every call."""

from __future__ import annotations

import json
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class InferenceServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _sentiment(self, body: bytes) -> object:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        text = json.loads(body)["inputs"]
        c = SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
        pos = (c + 1) / 2
        return [sorted([{"label": "POSITIVE", "score": pos}, {"label": "NEGATIVE", "score": 1 - pos}],
                       key=lambda d: -d["score"])]

    def _asr(self, body: bytes) -> object:
        from faster_whisper import WhisperModel

        from core.models import known_models
        from core.models.locate import model_dir

        folder = model_dir(known_models.default_for("automatic-speech-recognition"))
        with tempfile.NamedTemporaryFile(suffix=".audio") as f:
            f.write(body)
            f.flush()
            segments, _ = WhisperModel(str(folder), device="cpu", compute_type="int8").transcribe(
                f.name, language="en")
            return {"text": " ".join(s.text.strip() for s in segments)}

    def start(self) -> InferenceServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append((self.path, self.headers.get("Content-Type", ""), len(body)))
                route = {"/sentiment": server._sentiment, "/asr": server._asr}.get(self.path)
                if route is None:
                    self._reply(404, {"error": f"no model at {self.path}"})
                    return
                try:
                    self._reply(200, route(body))
                except Exception as e:  # noqa: BLE001 - report to the client as the real servers do
                    self._reply(400, {"error": str(e)})

            def _reply(self, status: int, obj: object) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


@pytest.fixture
def inference_server():
    server = InferenceServer().start()
    yield server
    server.stop()

