"""A proxy.py plugin that appends one line per request a client sends it ('CONNECT host:port',
or the method and host:port of a plain-HTTP request) to the file named by the test."""

from __future__ import annotations

import os

from proxy.http.proxy import HttpProxyBasePlugin


class Recorder(HttpProxyBasePlugin):
    def handle_client_request(self, request):
        method = (request.method or b"?").decode()
        host = (request.host or b"?").decode()
        line = f"{method} {host}:{request.port}\n"
        path = os.environ.get("SYMETRISK_TEST_PROXY_RECORD")
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return request
