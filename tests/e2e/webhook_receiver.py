"""A webhook receiver run as its own process: `python webhook_receiver.py PORT FILE`.

Every POST is appended to FILE as one JSON object (path, headers, body) and answered 200.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(log_path: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            entry = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", errors="replace"),
            }
            with lock, log_path.open("a") as log:
                log.write(json.dumps(entry) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args) -> None:
            sys.stderr.write(f"webhook {self.command} {self.path}\n")

    return Receiver


def main(port: int, log_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(log_path))
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
