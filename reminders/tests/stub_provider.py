"""A Twilio-compatible stub SMS provider on 127.0.0.1 for tests (records what it received)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubProvider:
    """``script`` is a list of behaviours consumed per request: an HTTP status, or "timeout"; then 201."""

    def __init__(self, script=(), delay_on_timeout=2.0):
        self.script = list(script)
        self.delay = delay_on_timeout
        self.received: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                with stub.lock:
                    behaviour = stub.script.pop(0) if stub.script else 201
                    stub.received.append(
                        {
                            "path": self.path,
                            "form": form,
                            "auth": self.headers.get("Authorization"),
                            "key": self.headers.get("I-Twilio-Idempotency-Token"),
                            "answer": behaviour,
                        }
                    )
                    sid = f"SM{len(stub.received):032d}"
                if behaviour == "timeout":
                    time.sleep(stub.delay)
                    behaviour = 201
                body = json.dumps({"sid": sid, "status": "queued"} if behaviour == 201 else {"message": "err"})
                self.send_response(behaviour)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (timeout test)
                    self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
