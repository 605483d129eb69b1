"""A real HTTP receiver for alerts: ``http.server`` on 127.0.0.1 on a free port, in a thread,
recording every POST (its path and JSON body), as apprise's ``json://`` URLs deliver them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AlertReceiver:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []  # {"path": ..., "json": ..., "raw": bytes}
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"path": self.path, "json": json.loads(raw), "raw": raw})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # keep the test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/alerts") -> str:
        """The apprise URL that posts JSON to this receiver."""
        return f"json://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
