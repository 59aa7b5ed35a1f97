"""A local HTTP server that speaks the chat-completions API, scripted by the test.

The real `openai` client talks to it over real sockets. A test gives it a handler:
`handler(request_json, call_number) -> reply`, where a reply is a dict (sent as the JSON
body), or ("status", code, body), ("status", code, body, headers) (a 503 with Retry-After,
say), ("delay", seconds, reply), ("raw", text), or ("reset",) (the connection is dropped with
no answer). `ChatServer(handler, port=p)` listens on a given port, so a test can take an
endpoint down and bring it back where clients expect it. `overloaded(handler, ...)` turns a
share of requests away as a server under load does.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def completion(content: str | None = None, tool_calls: list[dict] | None = None, prompt_tokens: int = 11, completion_tokens: int = 7) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str) else json.dumps(c["arguments"])}}
            for i, c in enumerate(tool_calls)
        ]
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    }


def overloaded(handler: Callable[[dict, int], Any], busy: float, resets: float, retry_after: str = "1"):
    """The handler behind a loaded server: a share `busy` of the requests get 503 with
    Retry-After, a share `resets` have their connection reset, the rest are answered. Which ones
    follows from the request's number (evenly spread, the same in every run); `.refused` counts."""
    def loaded(request: dict, n: int):
        spot = (n * 0.6180339887498949) % 1.0
        if spot < busy:
            loaded.refused["503"] += 1
            return ("status", 503, {"error": {"message": "overloaded, try again"}}, {"Retry-After": retry_after})
        if spot < busy + resets:
            loaded.refused["reset"] += 1
            return ("reset",)
        return handler(request, n)

    loaded.refused = Counter()
    return loaded


class ChatServer:
    def __init__(self, handler: Callable[[dict, int], Any], port: int = 0):
        self.handler = handler
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    n = len(server.requests)
                reply = server.handler(body, n)
                while isinstance(reply, tuple) and reply[0] == "delay":
                    time.sleep(reply[1])
                    reply = reply[2]
                if reply == ("reset",):  # close at once, unanswered: linger 0 sends a reset
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                status, text, headers = 200, None, {}
                if isinstance(reply, tuple) and reply[0] == "status":
                    status, headers, reply = reply[1], (reply[3] if len(reply) > 3 else {}), reply[2]
                if isinstance(reply, tuple) and reply[0] == "raw":
                    text = reply[1]
                data = (text if text is not None else json.dumps(reply)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, str(value))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
