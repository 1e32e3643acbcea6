#!/usr/bin/env python3
"""Stand-in for a streamflix instance, for smoke-testing the nginx config.

    echo_backend.py PORT NAME

GET/POST anything     -> JSON {backend, method, path, headers}
/big                  -> ~8 KiB JSON (gzip test)
/media/...            -> Cache-Control: public, max-age=60 (no-store if "nocache" in the path)
/metrics              -> a metrics line
/flaky                -> on backend B: read the request, close without answering
/api/v1/notifications/stream, /sse -> SSE: one event, 2 s pause, second event
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, NAME = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keepalive, like Go's net/http

    def log_message(self, fmt, *args):
        pass

    def send_body(self, body, ctype, extra=None):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        path = self.path.split("?")[0]
        if path == "/flaky" and NAME == "B":
            self.close_connection = True  # the app got the request, then died
            return
        if path in ("/api/v1/notifications/stream", "/sse"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(f"data: first from {NAME}\n\n".encode())
            self.wfile.flush()
            time.sleep(2)
            self.wfile.write(b"data: second\n\n")
            self.wfile.flush()
            self.close_connection = True
        elif path.startswith("/media/"):
            cc = "no-store" if "nocache" in path else "public, max-age=60"
            self.send_body(f"media {self.path} from {NAME}\n", "video/mp4", {"Cache-Control": cc})
        elif path == "/metrics":
            self.send_body(f'up{{backend="{NAME}"}} 1\n', "text/plain; version=0.0.4")
        elif path == "/big":
            self.send_body(json.dumps({"items": [{"id": i, "title": "video"} for i in range(300)]}),
                           "application/json")
        else:
            self.send_body(json.dumps({"backend": NAME, "method": self.command, "path": self.path,
                                       "headers": dict(self.headers.items())}), "application/json")

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
