# SPDX-License-Identifier: Apache-2.0
"""curl as the HTTP/2 and TLS client of the transport tests.

Debian's curl speaks HTTP/2 over TLS (ALPN "h2"), HTTP/2 in clear text
with prior knowledge (h2c) and HTTP/1.1 over TLS: one client for the
three transports, and the one a person would try first.  Python's own
http.client speaks HTTP/1.1 only.
"""

import os
import subprocess
from dataclasses import dataclass

# transport -> (URL scheme, curl options)
TRANSPORTS = {
    "h2": ("https", ["--http2"]),
    "h2c": ("http", ["--http2-prior-knowledge"]),
    "http1.1-tls": ("https", ["--http1.1"]),
    "http1.1": ("http", ["--http1.1"]),
}


@dataclass
class Reply:
    status: int
    version: str          # "2", "1.1"
    headers: dict         # lower-case names, last value wins
    body: bytes
    stderr: str
    head: bytes           # the response head(s) as curl wrote them

    def json(self):
        import json
        return json.loads(self.body)


def _parse_head(raw):
    """(status, headers) of the last response head curl wrote (-D), after
    any interim 1xx heads."""
    heads = [h for h in raw.decode("latin-1").split("\r\n\r\n") if h.strip()]
    if not heads:
        return 0, {}
    lines = heads[-1].split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def request(transport, port, path, workdir, *, method=None, data_file=None,
            stream_stdin=None, headers=(), cacert=None, head=False,
            extra=(), timeout=300, output=None):
    """One request with curl over TRANSPORT to localhost:PORT PATH.

    DATA_FILE is sent as the body with its length; STREAM_STDIN (a file
    path) is sent from curl's standard input, without a length (chunked
    on HTTP/1.1, plain DATA frames on HTTP/2).  OUTPUT, a path, receives
    the body instead of memory.

    A server that answers before it has read the whole body (403, 413)
    ends the HTTP/2 stream with RST_STREAM (NO_ERROR) after its answer, as
    RFC 9113 8.1 allows; curl 7.88 then exits with 92 and may drop the
    answer it got: ask such requests with nghttp_request.  With HEAD=True
    (-I), curl writes the head as the body too.
    """
    scheme, options = TRANSPORTS[transport]
    head_file = os.path.join(workdir, "curl-head.txt")
    body_file = output or os.path.join(workdir, "curl-body.bin")
    command = ["curl", "-sS", "--path-as-is", "--max-time", str(timeout),
               "-D", head_file, "-o", body_file, "-w", "%{http_version}",
               *options, *extra]
    if cacert:
        command += ["--cacert", cacert]
    for header in headers:
        command += ["-H", header]
    if head:
        command.append("-I")
    stdin = None
    if data_file:
        command += ["--data-binary", f"@{data_file}"]
    if stream_stdin:
        command += ["-T", "-"]
        stdin = open(stream_stdin, "rb")
    if method:
        command += ["-X", method]
    command.append(f"{scheme}://localhost:{port}{path}")
    try:
        done = subprocess.run(command, stdin=stdin, capture_output=True,
                              timeout=timeout + 30)
    finally:
        if stdin:
            stdin.close()
    assert done.returncode == 0, (command, done.stderr.decode())
    with open(head_file, "rb") as f:
        raw_head = f.read()
    body = b""
    if output is None and os.path.exists(body_file):
        with open(body_file, "rb") as f:
            body = f.read()
    status, headers = _parse_head(raw_head)
    return Reply(status, done.stdout.decode().strip(), headers, body,
                 done.stderr.decode(), raw_head)


@dataclass
class Frames:
    """What nghttp (Debian's nghttp2-client) saw of one HTTP/2 stream."""
    status: int
    headers: dict
    json_body: dict       # the body, when it is one JSON object
    reset: str            # the RST_STREAM error code, "" if none
    log: str


def nghttp_request(url, data_file, *, length=True, headers=(), timeout=120):
    """POSTs DATA_FILE over HTTP/2 with nghttp, which, unlike curl 7.88,
    keeps an answer that the server sends before it resets the stream.
    LENGTH=False sends no content-length (--no-content-length)."""
    import json
    import re
    command = ["nghttp", "-v", "-d", data_file, url]
    if not length:
        command.insert(1, "--no-content-length")
    for header in headers:
        command[1:1] = ["-H", header]
    done = subprocess.run(command, capture_output=True, text=True,
                          timeout=timeout)
    log = done.stdout + done.stderr
    found = dict(re.findall(r"recv \(stream_id=\d+\) ([^:\s][^:]*|:status): (.*)",
                            log))
    status = int(found.pop(":status", "0"))
    body = re.search(r"^(\{.*\})$", log, re.M)
    reset = re.search(r"recv RST_STREAM frame[^\n]*\n\s*\(error_code=(\w+)", log)
    return Frames(status, found, json.loads(body.group(1)) if body else None,
                  reset.group(1) if reset else "", log)
