"""A webhook receiver for the tests, run as its own process on 127.0.0.1.

It checks every message's signature with the Standard Webhooks reference library and
appends one JSON line per request to a file: the headers, the body, whether the
signature verified. What it verifies with and how it answers are set at runtime by
POSTing JSON to /control: `{"secret": "whsec_..."}`, `{"status": 500}` (the status to
answer), `{"delay": 2.5}` (seconds to wait before answering), `{"redirect":
"http://..."}` (answer 302 to there).

    python tests/webhook_receiver.py PORT LOG_FILE
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError, WebhookVerificationError

_behaviour: dict[str, Any] = {"secret": None, "status": 200, "delay": 0.0, "redirect": None}
_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    log_path = Path()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/control":
            with _lock:
                _behaviour.update(json.loads(body))
            self._answer(204)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        with _lock:
            behaviour = dict(_behaviour)
            try:
                Webhook(behaviour["secret"]).verify(body, headers)
                verified = True
            except (WebhookVerificationError, EmptyWebhookSecretError, TypeError, ValueError):
                verified = False
            with self.log_path.open("a") as log:
                record = {
                    "path": self.path,
                    "headers": headers,
                    "body": body.decode(),
                    "verified": verified,
                    "answered": behaviour["status"] if not behaviour["redirect"] else 302,
                }
                log.write(json.dumps(record) + "\n")
        time.sleep(behaviour["delay"])
        if behaviour["redirect"]:
            self.send_response(302)
            self.send_header("Location", behaviour["redirect"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._answer(behaviour["status"])

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the log file is the record


def main() -> None:
    port, log_file = int(sys.argv[1]), sys.argv[2]
    Receiver.log_path = Path(log_file)
    Receiver.log_path.touch()
    ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()


if __name__ == "__main__":
    main()
