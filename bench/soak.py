#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Soak: a long, bounded, mixed load through mod_orthanc_proxy while
Apache's memory, file descriptors and backend connections are watched.

Starts on free 127.0.0.1 ports a private Orthanc (authentication on, the
DICOMweb plugin, real DICOM files) and an Apache with the module (the build
in --build, sanitized or not), then for --minutes runs --workers client
threads, each sending one request at a time, drawn at random from a fixed
mix of what a viewer, an uploader and a hostile client do:

  small JSON, previews, 0.5 MB instance files, HEAD, DICOMweb QIDO,
  Orthanc's own redirect, uploads (Content-Length, Expect: 100-continue,
  chunked), chunked and declared uploads over LimitRequestBody (413),
  refusals by level and by rule (403), unreadable paths and method
  overrides (400), encoded bodies (415), no Apache credentials (401),
  wrong Orthanc credentials (401 without WWW-Authenticate), CORS
  preflights and cross-origin reads, clients that disconnect mid-upload
  and mid-download (instance file and study archive).

Orthanc is restarted every --restart-every seconds.  Every --sample-every
seconds the script reads, over all Apache processes, the total resident
memory (VmRSS, and RssAnon, its anonymous part: heap, pools, stacks), the
open file descriptors and Apache's TCP connections to Orthanc's port.  At
the start, at 25 %, at 50 % and at the end it stops the load for a few
seconds (longer than Apache's 5 s KeepAliveTimeout), so that every client
connection is closed, and takes a quiet checkpoint.

What counts as expected: every request kind has one expected outcome (a
status, plus checks of the body and headers); a kind that reaches Orthanc
may also get 502 or 503, or lose its connection, while Orthanc restarts
(from the moment it is stopped until 2 s after it answers again).
Anything else is an unexpected failure, and so are a sanitizer report, an
Apache child that dies and a change in the set of Apache processes (the
configuration pins it: 2 children of 16 threads).

Flatness: between the 25 % checkpoint (after warm-up) and the end,
  - Apache's anonymous resident memory (RssAnon) grows by at most
    --rss-bound MiB (default 4).  Not VmRSS: its file-backed part (the
    pages of apache2, the modules and the libraries) shrinks and grows
    with the machine's page cache (-4 MiB in one run on a loaded machine);
  - its file descriptors other than backend connections grow by at most
    --fd-bound (default 0): at a quiet checkpoint these are the listening
    socket, logs, pipes and files, a fixed set;
  - its connections to Orthanc stay within the pool's bound (16 per child).
See docs/development.md ("Soak test") for why these bounds.  Not judged under ASan: the
memory (its quarantine holds up to 256 MB of freed memory per process).

Usage: bench/soak.py [--minutes 30] [--workers 4] [--restart-every 180]
       [--sample-every 5] [--build DIR] [--rss-bound MIB] [--fd-bound N]
       [--json FILE] [--keep]
Exit status 0 when there was no unexpected failure and everything was flat.
"""

import argparse
import base64
import collections
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024
SAMPLE_DIR = "/usr/lib/python3/dist-packages/pydicom/data/test_files"

ORTHANC_USER, ORTHANC_PASSWORD = "proxy", "soak-orthanc-secret"
APACHE_USER, APACHE_PASSWORD = "soak", "soak-apache-pw"
ORIGIN = "https://viewer.example"
BODY_LIMIT = 1 << 20            # LimitRequestBody on the prefix
THREADS_PER_CHILD = 16
CHILDREN = 2
QUIET_SECONDS = 7               # > KeepAliveTimeout (5 s)
RESTART_GRACE = 2.0
TIMEOUT = 60


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--restart-every", type=float, default=180,
                        help="seconds between Orthanc restarts (0: never)")
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--build", default=ROOT,
                        help="build directory whose .libs/mod_orthanc_proxy.so "
                        "is loaded; a build configured with "
                        "--enable-sanitizers runs sanitized")
    parser.add_argument("--rss-bound", type=float, default=4,
                        help="MiB of RssAnon growth allowed from 25%% to "
                        "the end")
    parser.add_argument("--fd-bound", type=int, default=0,
                        help="descriptors (other than backend connections) "
                        "allowed to appear from 25%% to the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the report to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (logs)")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None


def sanitizer_runtime(build):
    """The ASan runtime a --enable-sanitizers build preloads, or ''."""
    try:
        with open(os.path.join(build, "Makefile")) as f:
            m = re.search(r"^SANITIZER_PRELOAD = *(\S*)", f.read(), re.M)
    except OSError:
        return ""
    return m.group(1) if m else ""


if ARGS:
    os.environ["OP_MODULE"] = os.path.join(os.path.abspath(ARGS.build), ".libs",
                                           "mod_orthanc_proxy.so")
    os.environ["OP_SANITIZER_PRELOAD"] = sanitizer_runtime(ARGS.build)
os.environ.setdefault("OP_HTTPD", "/usr/sbin/apache2")
os.environ.setdefault("OP_APACHE_MODULES", "/usr/lib/apache2/modules")
os.environ.setdefault("OP_ORTHANC", "/usr/sbin/Orthanc")
os.environ.setdefault("OP_SRCDIR", ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import requests        # noqa: E402
import big_dicom       # noqa: E402
import harness         # noqa: E402


# ---------------------------------------------------------------------------
# Apache's processes, from /proc

def fd_targets(pid):
    """readlink of every open descriptor of PID."""
    targets = []
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return targets
    for name in names:
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{name}"))
        except OSError:
            pass
    return targets


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE",
              "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN",
              "0B": "CLOSING"}


def tcp_sockets_to(port):
    """{socket inode: state} of the IPv4 TCP sockets whose remote port is
    PORT."""
    sockets = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == port:
                sockets[fields[9]] = TCP_STATES.get(fields[3], fields[3])
    return sockets


def sample(apache, orthanc_port):
    pids = apache.pids()
    targets = [t for pid in pids for t in fd_targets(pid)]
    backend = tcp_sockets_to(orthanc_port)
    states = collections.Counter()
    for target in targets:
        m = re.match(r"socket:\[(\d+)\]", target)
        if m and m.group(1) in backend:
            states[backend[m.group(1)]] += 1
    backend_fds = sum(states.values())
    return {
        "t": time.monotonic(),
        "pids": sorted(pids),
        "rss_kib": apache.memory_kib("VmRSS"),
        "anon_kib": apache.memory_kib("RssAnon"),
        "fds": len(targets),
        "backend_fds": backend_fds,
        "other_fds": len(targets) - backend_fds,
        "backend_states": dict(states),
    }


# ---------------------------------------------------------------------------
# The set-up

def apache_config(orthanc, htpasswd):
    return f"""
# A fixed population of processes and threads: its memory is what is
# measured, and no child is started or stopped by the load.
StartServers {CHILDREN}
ServerLimit {CHILDREN}
ThreadsPerChild {THREADS_PER_CHILD}
MaxRequestWorkers {CHILDREN * THREADS_PER_CHILD}
MinSpareThreads 1
MaxSpareThreads {CHILDREN * THREADS_PER_CHILD}
MaxConnectionsPerChild 0
KeepAliveTimeout 5

OrthancProxy /orthanc/ {orthanc.url}/ timeout={TIMEOUT}
OrthancProxy /wrongcreds/ {orthanc.url}/ timeout={TIMEOUT}
<Location /orthanc/>
    AuthType Basic
    AuthName soak
    AuthBasicProvider file
    AuthUserFile {htpasswd}
    Require valid-user
    LimitRequestBody {BODY_LIMIT}
    OrthancProxyAccess upload
    OrthancProxyDeny GET /patients/*/archive
    OrthancProxyCredentials {ORTHANC_USER} {ORTHANC_PASSWORD}
    OrthancProxyUserHeader X-Remote-User
    OrthancProxyCORS {ORIGIN}
</Location>
<Location /wrongcreds/>
    OrthancProxyAccess read
    OrthancProxyCredentials {ORTHANC_USER} not-the-password
</Location>
"""


class Setup:
    """Orthanc, Apache and the data the requests use."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.orthanc = harness.Orthanc(workdir, settings={
            "AuthenticationEnabled": True,
            "RegisteredUsers": {ORTHANC_USER: ORTHANC_PASSWORD},
        })
        self.apache = None

    def start(self):
        self.orthanc.start()
        auth = (ORTHANC_USER, ORTHANC_PASSWORD)
        with open(os.path.join(SAMPLE_DIR, "CT_small.dcm"), "rb") as f:
            self.ct = f.read()
        self.big, info = big_dicom.make_bytes(512 * 1024, seed=7,
                                              patient_id="SOAK-BIG")
        self.big_sha256 = info.sha256
        # Over LimitRequestBody, for the chunked 413.
        self.oversize = self.big * 3
        stored = {}
        for name, data in (("ct", self.ct), ("big", self.big)):
            r = requests.post(self.orthanc.url + "/instances", data=data,
                              auth=auth, timeout=TIMEOUT)
            r.raise_for_status()
            stored[name] = r.json()
        self.ct_id = stored["ct"]["ID"]
        self.ct_patient = stored["ct"]["ParentPatient"]
        self.big_id = stored["big"]["ID"]
        self.big_study = stored["big"]["ParentStudy"]

        htpasswd = os.path.join(self.workdir, "htpasswd")
        subprocess.run(["htpasswd", "-bcs", htpasswd, APACHE_USER,
                        APACHE_PASSWORD], check=True, capture_output=True)
        os.chmod(htpasswd, 0o644)
        self.apache = harness.Apache(
            self.workdir, apache_config(self.orthanc, htpasswd), name="apache",
            extra_modules=["auth_basic", "authn_core", "authn_file",
                           "authz_user"])
        self.apache.start()
        self.authorization = "Basic " + base64.b64encode(
            f"{APACHE_USER}:{APACHE_PASSWORD}".encode()).decode()

    def stop(self):
        if self.apache:
            self.apache.stop()      # harmless when already stopped
        self.orthanc.stop()


# ---------------------------------------------------------------------------
# The request kinds.  Each returns an outcome: the status as a string, or
# "disconnected" for a client that left on purpose, or a description of
# what was wrong ("200 but ...").  Exceptions become "error: ...".

class Kind:
    def __init__(self, name, weight, expected, backend, run):
        self.name = name
        self.weight = weight
        self.expected = expected      # the outcome outside restarts
        self.backend = backend        # reaches Orthanc
        self.run = run


def raw_exchange(port, head, body=b"", read_limit=None, linger_reset=False,
                 timeout=TIMEOUT):
    """Sends HEAD and BODY on a new connection.  Reads the answer until the
    server closes, or only READ_LIMIT bytes (then closes, with a reset if
    LINGER_RESET).  Returns the bytes read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if linger_reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(head + body)
        chunks, total = [], 0
        while read_limit is None or total < read_limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        s.close()


def status_line(raw):
    return str(harness.status_of(raw))


def make_kinds(setup):
    port = setup.apache.port
    base = setup.apache.url
    auth_header = {"Authorization": setup.authorization}
    auth_line = f"Authorization: {setup.authorization}\r\n".encode()

    def get(session, path, **kwargs):
        return session.get(base + path, timeout=TIMEOUT, **kwargs)

    def truncated(r):
        """Fewer bytes than Content-Length said (Orthanc stopped while it
        answered; requests does not complain)."""
        declared = r.headers.get("Content-Length")
        return declared is not None and \
            getattr(r.raw, "_fp_bytes_read", int(declared)) < int(declared)

    def json_check(r, test):
        if r.status_code != 200:
            return str(r.status_code)
        if truncated(r):
            return "truncated"
        try:
            return "200" if test(r.json()) else "200 but unexpected JSON"
        except ValueError:
            return "200 but not JSON"

    def system(s):
        return json_check(get(s, "/orthanc/system"), lambda j: "Name" in j)

    def tags(s):
        return json_check(get(s, f"/orthanc/instances/{setup.ct_id}/tags?simplify"),
                          lambda j: "PatientID" in j)

    def patients(s):
        return json_check(get(s, "/orthanc/patients"),
                          lambda j: setup.ct_patient in j)

    def find(s):
        r = s.post(base + "/orthanc/tools/find", timeout=TIMEOUT,
                   json={"Level": "Instance", "Query": {"PatientID": "*"}})
        return json_check(r, lambda j: setup.ct_id in j)

    def qido(s):
        return json_check(get(s, "/orthanc/dicom-web/studies"),
                          lambda j: isinstance(j, list) and len(j) >= 2)

    def preview(s):
        r = get(s, f"/orthanc/instances/{setup.ct_id}/preview")
        if r.status_code == 200 and truncated(r):
            return "truncated"
        if r.status_code == 200 and not r.content.startswith(b"\x89PNG"):
            return "200 but not a PNG"
        return str(r.status_code)

    def big_file(s):
        r = get(s, f"/orthanc/instances/{setup.big_id}/file")
        if r.status_code == 200 and truncated(r):
            return "truncated"
        if r.status_code == 200 and \
                hashlib.sha256(r.content).hexdigest() != setup.big_sha256:
            return f"200 but {len(r.content)} bytes that differ"
        return str(r.status_code)

    def head(s):
        r = s.head(base + f"/orthanc/instances/{setup.ct_id}/file",
                   headers={"Accept-Encoding": "identity"}, timeout=TIMEOUT)
        if r.status_code == 200 and r.headers.get("Content-Length") != \
                str(len(setup.ct)):
            return "200 but wrong Content-Length"
        return str(r.status_code)

    def orthanc_redirect(s):
        r = get(s, "/orthanc/", allow_redirects=False)
        if r.status_code == 301 and r.headers.get("Location") != \
                "app/explorer.html":
            return f"301 but Location {r.headers.get('Location')!r}"
        return str(r.status_code)

    def prefix_redirect(s):
        r = get(s, "/orthanc", allow_redirects=False)
        if r.status_code == 301 and not r.headers.get(
                "Location", "").endswith("/orthanc/"):
            return "301 but wrong Location"
        return str(r.status_code)

    # Orthanc 1.10.1 answers 500 "Error while accessing the filesystem"
    # now and then when two uploads of an instance it already has run at
    # once (each writes its file, then removes it and the directories left
    # empty, which the other is writing into).  That is Orthanc's race, not
    # the proxy's: complete uploads are sent one at a time.
    upload_lock = threading.Lock()

    def upload_ct(s):
        with upload_lock:
            r = s.post(base + "/orthanc/instances", data=setup.ct,
                       timeout=TIMEOUT)
        return json_check(r, lambda j: j.get("ID") == setup.ct_id)

    def upload_stream(chunked, expect, data, expected_id):
        def run(s):
            with upload_lock:
                up = big_dicom.post_stream(port, "/orthanc/instances", data,
                                           chunked=chunked, expect=expect,
                                           headers=auth_header,
                                           blocksize=65536, timeout=TIMEOUT)
            if up.status == 200 and expected_id and \
                    up.json().get("ID") != expected_id:
                return "200 but another instance"
            if up.status == 413 and not up.body.startswith(b"{"):
                return "413 but not JSON"
            return str(up.status)
        return run

    def refused(method, path, expected_rule=None, **kwargs):
        def run(s):
            r = s.request(method, base + path, timeout=TIMEOUT, **kwargs)
            try:
                body = r.json()
            except ValueError:
                return f"{r.status_code} but not JSON"
            if expected_rule and body.get("rule") != expected_rule:
                return f"{r.status_code} but rule {body.get('rule')!r}"
            return str(r.status_code)
        return run

    def bad_path(s):
        return status_line(raw_exchange(
            port, b"GET /orthanc/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + auth_line + b"Connection: close\r\n\r\n"))

    def declared_over(s):
        head_ = (b"POST /orthanc/instances HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 + auth_line + b"Content-Type: application/dicom\r\n"
                 + b"Content-Length: %d\r\n\r\n" % len(setup.oversize))
        # Refused from the headers: nothing of the body needs to be sent.
        return status_line(raw_exchange(port, head_))

    def no_credentials(s):
        return str(requests.get(base + "/orthanc/system",
                                timeout=TIMEOUT).status_code)

    def wrong_credentials(s):
        r = requests.get(base + "/wrongcreds/system", timeout=TIMEOUT)
        if r.status_code == 401 and "WWW-Authenticate" in r.headers:
            return "401 but WWW-Authenticate reached the client"
        return str(r.status_code)

    def preflight(s):
        r = requests.options(base + "/orthanc/instances", timeout=TIMEOUT,
                             headers={"Origin": ORIGIN,
                                      "Access-Control-Request-Method": "POST"})
        if r.status_code == 204 and \
                r.headers.get("Access-Control-Allow-Origin") != ORIGIN:
            return "204 but no Access-Control-Allow-Origin"
        return str(r.status_code)

    def cross_origin(s):
        r = get(s, "/orthanc/system", headers={"Origin": ORIGIN})
        if r.status_code == 200 and \
                r.headers.get("Access-Control-Allow-Origin") != ORIGIN:
            return "200 but no Access-Control-Allow-Origin"
        return str(r.status_code)

    def leave_mid_upload(chunked):
        def run(s):
            part = setup.big[:128 * 1024]
            if chunked:
                head_ = (b"POST /orthanc/instances HTTP/1.1\r\n"
                         b"Host: 127.0.0.1\r\n" + auth_line
                         + b"Transfer-Encoding: chunked\r\n\r\n")
                body = b"%x\r\n%s\r\n" % (len(part), part)
            else:
                head_ = (b"POST /orthanc/instances HTTP/1.1\r\n"
                         b"Host: 127.0.0.1\r\n" + auth_line
                         + b"Content-Length: %d\r\n\r\n" % len(setup.big))
                body = part
            s_ = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            try:
                s_.sendall(head_ + body)
                time.sleep(random.uniform(0, 0.3))
            finally:
                s_.close()
            return "disconnected"
        return run

    def leave_mid_download(path):
        def run(s):
            raw = raw_exchange(
                port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                + auth_line + b"\r\n", read_limit=32 * 1024, linger_reset=True)
            status = status_line(raw)
            return "disconnected" if status == "200" else status
        return run

    big_id = setup.big_id
    return [
        # What a viewer does most.
        Kind("GET /system", 12, "200", True, system),
        Kind("GET tags (JSON)", 10, "200", True, tags),
        Kind("GET /patients", 5, "200", True, patients),
        Kind("POST /tools/find", 3, "200", True, find),
        Kind("QIDO /dicom-web/studies", 3, "200", True, qido),
        Kind("GET preview (PNG)", 4, "200", True, preview),
        Kind("GET 0.5 MB file", 6, "200", True, big_file),
        Kind("HEAD file", 2, "200", True, head),
        Kind("GET / (Orthanc's 301)", 1, "301", True, orthanc_redirect),
        Kind("GET /orthanc (module's 301)", 1, "301", False, prefix_redirect),
        Kind("cross-origin GET", 2, "200", True, cross_origin),
        Kind("CORS preflight", 2, "204", False, preflight),
        # Uploads.
        Kind("upload 39 KB", 3, "200", True, upload_ct),
        Kind("upload 0.5 MB Content-Length", 2, "200", True,
             upload_stream(False, False, setup.big, big_id)),
        Kind("upload 0.5 MB Expect: 100-continue", 2, "200", True,
             upload_stream(False, True, setup.big, big_id)),
        Kind("upload 0.5 MB chunked", 2, "200", True,
             upload_stream(True, False, setup.big, big_id)),
        Kind("upload 0.5 MB chunked + Expect", 1, "200", True,
             upload_stream(True, True, setup.big, big_id)),
        Kind("chunked upload over the limit", 2, "413", True,
             upload_stream(True, False, setup.oversize, None)),
        Kind("declared upload over the limit", 1, "413", False, declared_over),
        # Refusals.
        Kind("403 level (DELETE patient)", 2, "403", False,
             refused("DELETE", f"/orthanc/patients/{setup.ct_patient}",
                     "OrthancProxyAccess upload")),
        Kind("403 rule (patient archive)", 1, "403", False,
             refused("GET", f"/orthanc/patients/{setup.ct_patient}/archive",
                     "OrthancProxyDeny GET /patients/*/archive")),
        Kind("403 admin (execute-script)", 1, "403", False,
             refused("POST", "/orthanc/tools/execute-script", data="x")),
        Kind("400 path (NUL)", 1, "400", False, bad_path),
        Kind("400 method override", 1, "400", False,
             refused("GET", "/orthanc/system?_method=patch")),
        Kind("415 encoded body", 1, "415", False,
             refused("POST", "/orthanc/tools/find", data=b"\x1f\x8b...",
                     headers={"Content-Encoding": "gzip"})),
        Kind("401 no Apache credentials", 1, "401", False, no_credentials),
        Kind("401 wrong Orthanc credentials", 1, "401", True,
             wrong_credentials),
        # Clients that leave.
        Kind("leave mid-upload", 1, "disconnected", True,
             leave_mid_upload(False)),
        Kind("leave mid-upload (chunked)", 1, "disconnected", True,
             leave_mid_upload(True)),
        Kind("leave mid-download (file)", 1, "disconnected", True,
             leave_mid_download(f"/orthanc/instances/{big_id}/file")),
        Kind("leave mid-download (archive)", 1, "disconnected", True,
             leave_mid_download(f"/orthanc/studies/{setup.big_study}/archive")),
    ]


# ---------------------------------------------------------------------------
# The run

class Soak:
    def __init__(self, setup, kinds, args):
        self.setup = setup
        self.kinds = kinds
        self.args = args
        self.lock = threading.Lock()
        self.results = []            # (start, end, kind, outcome)
        self.windows = []            # [start, end] of Orthanc restarts
        self.samples = []
        self.checkpoints = []        # (label, sample)
        self.events = []             # things that went wrong outside requests
        self.stop = threading.Event()
        self.running = threading.Event()   # cleared: the load pauses
        self.running.set()
        self.busy = 0
        self.restarts = 0

    def wall(self, t):
        """Monotonic time T as the wall-clock time of the logs."""
        stamp = time.time() - (time.monotonic() - t)
        return datetime.datetime.fromtimestamp(stamp).strftime("%H:%M:%S.%f")[:-3]

    # The load --------------------------------------------------------------
    def worker(self, index):
        rng = random.Random(self.args.seed * 1000 + index)
        weights = [k.weight for k in self.kinds]
        session = None
        while not self.stop.is_set():
            if not self.running.is_set():
                if session:
                    session.close()
                    session = None
                self.running.wait(1)
                continue
            if session is None:
                session = requests.Session()
                session.auth = (APACHE_USER, APACHE_PASSWORD)
            kind = rng.choices(self.kinds, weights)[0]
            with self.lock:
                self.busy += 1
            start = time.monotonic()
            try:
                outcome = kind.run(session)
            except Exception as e:              # noqa: BLE001 - recorded
                outcome = f"error: {type(e).__name__}"
                session.close()
                session = None
            end = time.monotonic()
            with self.lock:
                self.busy -= 1
                self.results.append((start, end, kind, outcome))
        if session:
            session.close()

    def quiet_checkpoint(self, label):
        """Pauses the load, waits until every client connection is closed,
        samples, resumes."""
        self.running.clear()
        deadline = time.monotonic() + 120
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(QUIET_SECONDS)
        point = sample(self.setup.apache, self.setup.orthanc.http_port)
        self.checkpoints.append((label, point))
        self.samples.append(point)
        self.running.set()
        return point

    # Orthanc restarts ------------------------------------------------------
    def restart_orthanc(self):
        window = [time.monotonic(), None]
        with self.lock:
            self.windows.append(window)
        self.setup.orthanc.restart()
        window[1] = time.monotonic() + RESTART_GRACE
        self.restarts += 1

    # Sampling --------------------------------------------------------------
    def watch(self, point):
        first = self.checkpoints[0][1]["pids"]
        if point["pids"] != first and not any(
                "Apache processes changed" in e for e in self.events):
            self.events.append(f"Apache processes changed: {first} -> "
                               f"{point['pids']}")
        for path, text in harness.sanitizer_reports():
            self.events.append(f"sanitizer report {path}:\n{text}")

    def run(self):
        args = self.args
        duration = args.minutes * 60
        self.quiet_checkpoint("start")
        self.started = time.monotonic()
        threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                   for i in range(args.workers)]
        for thread in threads:
            thread.start()
        marks = [(0.25, "25%"), (0.5, "50%")]
        next_sample = self.started + args.sample_every
        next_restart = self.started + (args.restart_every or duration * 2)
        last_report = self.started
        try:
            while True:
                now = time.monotonic()
                elapsed = now - self.started
                if elapsed >= duration:
                    break
                if marks and elapsed >= marks[0][0] * duration:
                    self.watch(self.quiet_checkpoint(marks.pop(0)[1]))
                elif args.restart_every and now >= next_restart:
                    self.restart_orthanc()
                    next_restart = time.monotonic() + args.restart_every
                elif now >= next_sample:
                    point = sample(self.setup.apache,
                                   self.setup.orthanc.http_port)
                    self.samples.append(point)
                    self.watch(point)
                    next_sample = now + args.sample_every
                    if now - last_report >= 60:
                        last_report = now
                        self.progress(point)
                else:
                    time.sleep(0.2)
        finally:
            self.stop.set()
            self.running.set()
            for thread in threads:
                thread.join(TIMEOUT * 2)
        self.ended = time.monotonic()
        self.watch(self.quiet_checkpoint("end"))

    def progress(self, point):
        print(f"  {(point['t'] - self.started) / 60:5.1f} min: "
              f"{len(self.results)} requests, RSS "
              f"{point['rss_kib'] / 1024:.1f} MiB (anonymous "
              f"{point['anon_kib'] / 1024:.1f}), {point['fds']} fds "
              f"({point['backend_fds']} to Orthanc), "
              f"{self.restarts} Orthanc restarts", flush=True)


# ---------------------------------------------------------------------------
# The report

def in_window(windows, start, end):
    return any(start <= w_end and end >= w_start
               for w_start, w_end in windows if w_end is not None)


# While Orthanc restarts, a request that needs it may get 502 (Orthanc
# closed the connection without an answer) or 503 (nobody listens), or
# lose its answer halfway: an answer cut short ("truncated") or a
# connection reset ("error: ..."), when Orthanc stops while it answers.
ALLOWED_DURING_RESTART = {"502", "503", "truncated", "disconnected",
                          "error: ConnectionError",
                          "error: ChunkedEncodingError",
                          "error: RemoteDisconnected",
                          "error: ConnectionResetError",
                          "error: IncompleteRead"}


def classify(soak):
    outcomes = collections.Counter()
    unexpected = []
    for start, end, kind, outcome in soak.results:
        ok = outcome == kind.expected
        if not ok and kind.backend and in_window(soak.windows, start, end):
            ok = outcome in ALLOWED_DURING_RESTART
            label = "during a restart" if ok else None
        else:
            label = None
        outcomes[(kind.name, outcome + (f" ({label})" if label else ""))] += 1
        if not ok:
            unexpected.append((soak.wall(start), kind.name, outcome))
    return outcomes, unexpected


def error_log_summary(apache):
    text = apache.error_log()
    counts = collections.Counter()
    deaths = []
    for line in text.splitlines():
        m = re.match(r"\[[^]]*\] \[([^]]*)\]", line)
        if m:
            counts[m.group(1)] += 1
        if "exit signal" in line or "AH00052" in line:
            deaths.append(line)
    return counts, deaths


def slope_mib_per_hour(points, key, scale):
    if len(points) < 3:
        return 0.0
    xs = [p["t"] for p in points]
    ys = [p[key] / scale for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx * 3600 \
        if sxx else 0.0


def report(soak, args, sanitized, load):
    lines = []
    out = lines.append
    outcomes, unexpected = classify(soak)
    counts, deaths = error_log_summary(soak.setup.apache)
    points = dict(soak.checkpoints)
    duration = soak.ended - soak.started
    total = len(soak.results)

    out(f"soak of mod_orthanc_proxy: {duration / 60:.1f} min of load, "
        f"{args.workers} workers, Orthanc restarted every "
        f"{args.restart_every:g} s ({soak.restarts} restarts)")
    out(f"module: {os.environ['OP_MODULE']}"
        + (f" (sanitized, {os.environ['OP_SANITIZER_PRELOAD']} preloaded)"
           if sanitized else ""))
    out(f"machine load average (1/5/15 min) at the end: {load}")
    out("Orthanc restarts (stopped at, seconds until it answered again): "
        + ", ".join(f"{soak.wall(a)} {b - RESTART_GRACE - a:.1f}"
                    for a, b in soak.windows))
    out("")
    out(f"requests: {total} ({total / duration:.0f}/s)")
    width = max(len(k) for k, _ in outcomes) + 2
    for (kind, outcome), n in sorted(outcomes.items()):
        out(f"  {kind:<{width}} {outcome:<34} {n:>8}")
    out("")
    events = list(soak.events) + [f"Apache child died: {d}" for d in deaths]
    out(f"unexpected failures: {len(unexpected) + len(events)}")
    grouped = collections.defaultdict(list)
    for t, kind, outcome in unexpected:
        grouped[(kind, outcome)].append(t)
    for (kind, outcome), times in sorted(grouped.items()):
        out(f"  {kind}: {outcome}: {len(times)} times, at "
            + ", ".join(times[:8]) + (" ..." if len(times) > 8 else ""))
    for event in events:
        out("  " + event)
    out("")
    out("error log lines by module:level: " + ", ".join(
        f"{k} {v}" for k, v in sorted(counts.items())))
    out("")
    out("quiet checkpoints (load paused, client connections closed):")
    out(f"  {'':>6} {'RSS MiB':>9} {'RssAnon':>9} {'fds':>5} {'other fds':>9} "
        f"{'to Orthanc':>10}  states")
    for label, p in soak.checkpoints:
        out(f"  {label:>6} {p['rss_kib'] / 1024:9.1f} "
            f"{p['anon_kib'] / 1024:9.1f} {p['fds']:5d} "
            f"{p['other_fds']:9d} {p['backend_fds']:10d}  "
            f"{p['backend_states']}")
    during = [p for p in soak.samples
              if soak.started <= p["t"] <= soak.ended]
    if during:
        out(f"  under load: RSS {min(p['rss_kib'] for p in during) / 1024:.1f}"
            f"-{max(p['rss_kib'] for p in during) / 1024:.1f} MiB, RssAnon "
            f"{min(p['anon_kib'] for p in during) / 1024:.1f}"
            f"-{max(p['anon_kib'] for p in during) / 1024:.1f} MiB, fds "
            f"{min(p['fds'] for p in during)}-{max(p['fds'] for p in during)},"
            f" connections to Orthanc {min(p['backend_fds'] for p in during)}-"
            f"{max(p['backend_fds'] for p in during)}")
    after = [p for p in soak.samples
             if p["t"] >= points["25%"]["t"] and p["t"] <= soak.ended + 60]
    rss_slope = slope_mib_per_hour(after, "anon_kib", 1024)
    out(f"  RssAnon slope from 25% to the end (least squares over "
        f"{len(after)} samples): {rss_slope:+.2f} MiB/hour")
    out("")

    rss_growth = (points["end"]["anon_kib"] - points["25%"]["anon_kib"]) / 1024
    fd_growth = points["end"]["other_fds"] - points["25%"]["other_fds"]
    pool_bound = CHILDREN * THREADS_PER_CHILD
    max_backend = max(p["backend_fds"] for p in soak.samples)
    after_requests = sum(1 for r in soak.results if r[0] >= points["25%"]["t"])
    verdicts = []
    if sanitized:
        verdicts.append(("RssAnon", None, f"{rss_growth:+.1f} MiB from 25% to the "
                         "end: not judged under ASan (quarantine, shadow)"))
    else:
        per_request = rss_growth * MIB / after_requests if after_requests else 0
        verdicts.append((
            "RssAnon", rss_growth <= args.rss_bound,
            f"{rss_growth:+.1f} MiB from 25% to the end (bound "
            f"{args.rss_bound:g} MiB; over {after_requests} requests that is "
            f"{per_request:+.1f} bytes per request; a leak of "
            f"{args.rss_bound * MIB / max(after_requests, 1):.0f} bytes per "
            f"request would exceed the bound)"))
    verdicts.append(("descriptors", fd_growth <= args.fd_bound,
                     f"{fd_growth:+d} other than backend connections from 25% "
                     f"to the end (bound {args.fd_bound})"))
    verdicts.append(("backend connections", max_backend <= pool_bound,
                     f"at most {max_backend} at any sample (bound: the pools, "
                     f"{CHILDREN} children x {THREADS_PER_CHILD})"))
    for name, ok, text in verdicts:
        verdict = "n/a " if ok is None else ("FLAT" if ok else "GROWS")
        out(f"{verdict:5} {name}: {text}")
    flat = all(ok is not False for _, ok, _ in verdicts)
    failures = len(unexpected) + len(events)
    out("")
    out(f"verdict: {failures} unexpected failures, "
        f"{'flat' if flat else 'NOT flat'}")
    data = {
        "minutes": duration / 60, "workers": args.workers,
        "restarts": soak.restarts, "sanitized": sanitized,
        "requests": total,
        "outcomes": [[k, o, n] for (k, o), n in sorted(outcomes.items())],
        "unexpected": unexpected, "events": events,
        "checkpoints": soak.checkpoints, "samples": soak.samples,
        "rss_growth_mib": rss_growth, "fd_growth": fd_growth,
        "rss_slope_mib_per_hour": rss_slope, "max_backend": max_backend,
        "flat": flat, "load": load,
    }
    return "\n".join(lines), failures == 0 and flat, data


def main():
    args = ARGS
    sanitized = bool(harness.SANITIZER_PRELOAD)
    if not os.path.exists(os.environ["OP_MODULE"]):
        sys.exit(f"soak.py: no module at {os.environ['OP_MODULE']}: build first")
    workdir = tempfile.mkdtemp(prefix="orthanc-proxy-soak-")
    os.chmod(workdir, 0o755)
    if sanitized:
        os.environ["OP_SANITIZER_LOG_DIR"] = os.path.join(workdir, "sanitizer")
    setup = Setup(workdir)
    print(f"soak.py: {args.minutes:g} min, {args.workers} workers, working "
          f"directory {workdir}", flush=True)
    try:
        setup.start()
        soak = Soak(setup, make_kinds(setup), args)
        soak.run()
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        # What Apache's shutdown writes counts too.
        setup.apache.stop()
        for path, text in harness.sanitizer_reports():
            soak.events.append(f"sanitizer report {path}:\n{text}")
        text, ok, data = report(soak, args, sanitized, load)
    finally:
        setup.stop()
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1, default=str)
    if args.keep or not ok:
        print(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"soak.py: finished {stamp}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
