# SPDX-License-Identifier: Apache-2.0
"""An Orthanc cluster behind one prefix: PostgreSQL, three Orthancs on its
database and one storage directory (a writer and two readers), Apache with
mod_proxy_balancer, mod_proxy_hcheck and balancer-manager in front, all
real and on loopback (cluster.py).

Each failure scenario runs twice: through a plain front end, and through
one with OrthancProxyCache on (its follower reads the change log from the
writer, or from a reader while the writer is down), where a probe also
changes a series of its own straight on the members and counts the answers
the cache gives more than OrthancProxyCacheMaxDelay after a change that
do not show it (stale answers).

Run alone with
    make check TESTS=tests/e2e/run_e2e OP_PYTEST_ARGS="-s -k cluster"
-s prints every scenario's counts.  OP_CLUSTER_LOAD_SECONDS (default 4)
sets how long the load runs around each event; OP_CLUSTER_JOBS (default 50)
how many asynchronous archives and modifications are run in a row.
"""

import collections
import contextlib
import io
import json
import os
import re
import signal
import threading
import time

import pydicom
import pytest
import requests
from pydicom.uid import generate_uid

import cluster
import ct_series
import harness
from test_cache import CACHE_MODULES, MAX_DELAY, cache_dir

LOAD_SECONDS = float(os.environ.get("OP_CLUSTER_LOAD_SECONDS", "4"))
JOBS = int(os.environ.get("OP_CLUSTER_JOBS", "50"))
SAMPLES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm"]
ROUTES_LOG = "routes.log"


def apache_body(the_cluster, writer=True, extra=""):
    key = " writer=writer" if writer else ""
    # harness.Apache fills in {workdir}: Apache's own braces are doubled.
    log = ('LogFormat "%{{msec}}t %m %U %>s %{{BALANCER_WORKER_ROUTE}}e" routes\n'
           'CustomLog "{workdir}/' + ROUTES_LOG + '" routes\n')
    return (the_cluster.balancer_section()
            + f"\nOrthancProxy /orthanc/ balancer://pacs/{key}\n" + log
            + cluster.manager_section() + extra)


def routes(apache):
    """(time in s, method, path, status, member route) of each request."""
    path = os.path.join(apache.workdir, ROUTES_LOG)
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            route = parts[4] if len(parts) > 4 and parts[4] != "-" else None
            out.append((int(parts[0]) / 1000, parts[1], parts[2], int(parts[3]),
                        route))
    return out


@pytest.fixture(scope="module")
def the_cluster(module_dir):
    c = cluster.Cluster(module_dir, members=3)
    for orthanc in c.orthancs:
        # Each member logs the requests it receives: a POST sent twice
        # would show twice.
        orthanc_record(orthanc)
    c.start()
    for name in SAMPLES:
        with open(os.path.join(harness.SAMPLE_DIR, name), "rb") as f:
            c.writer.upload(f.read())
    yield c
    c.stop()


def orthanc_record(orthanc):
    """Turns harness.Orthanc's recording Lua filter on for ORTHANC."""
    with open(orthanc.config_path) as f:
        config = json.load(f)
    filter_path = os.path.join(orthanc.workdir, "record.lua")
    with open(filter_path, "w") as f:
        f.write(harness.RECORDING_FILTER)
    config["LuaScripts"] = [filter_path]
    with open(orthanc.config_path, "w") as f:
        json.dump(config, f, indent=2)


@pytest.fixture(scope="module")
def apache(the_cluster, make_module_apache):
    return make_module_apache(apache_body(the_cluster),
                              extra_modules=cluster.CLUSTER_MODULES)


def cache_lines(root):
    return f"""
CacheQuickHandler Off
CacheRoot "{root}"
CacheEnable disk /orthanc/
CacheHeader on
CacheMaxFileSize 100000000
<Location /orthanc/>
    OrthancProxyCache on
</Location>
"""


def wait_for_balancer_follower(apache, timeout=30):
    harness.wait_until(
        lambda: "following the changes of balancer://pacs/" in
        apache.error_log(), timeout, what="the follower of balancer://pacs/")


@pytest.fixture(scope="module")
def cached_apache(the_cluster, make_module_apache, module_dir):
    """A front end with OrthancProxyCache on for the balancer mapping."""
    front = make_module_apache(
        apache_body(the_cluster, extra=cache_lines(cache_dir(module_dir))),
        name="cached-front",
        extra_modules=cluster.CLUSTER_MODULES
        + [m for m in CACHE_MODULES if m not in cluster.CLUSTER_MODULES])
    wait_for_balancer_follower(front)
    return front


@pytest.fixture(params=["plain", "cache"])
def front(request, the_cluster):
    """The scenarios run through each front end."""
    return request.param, request.getfixturevalue(
        "apache" if request.param == "plain" else "cached_apache")


def unique_instance(source="CT_small.dcm"):
    """A copy of a sample with new study, series and instance UIDs."""
    ds = pydicom.dcmread(os.path.join(harness.SAMPLE_DIR, source))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


# ----------------------------------------------------------- routing


def test_uploads_are_read_at_once_through_every_member(the_cluster, apache):
    """Read-your-writes: an instance uploaded through the proxy (to the
    writer) is served at once through the proxy and by every member."""
    for _ in range(10):
        r = requests.post(apache.url + "/orthanc/instances",
                          data=unique_instance(), timeout=30)
        assert r.status_code == 200, r.text
        instance = r.json()["ID"]
        study = r.json()["ParentStudy"]
        r = requests.get(f"{apache.url}/orthanc/instances/{instance}/tags",
                         timeout=30)
        assert r.status_code == 200
        r = requests.get(f"{apache.url}/orthanc/studies/{study}", timeout=30)
        assert r.status_code == 200
        for orthanc in the_cluster.orthancs:
            r = requests.get(f"{orthanc.url}/instances/{instance}/file",
                             timeout=30)
            assert r.status_code == 200, orthanc.url


def test_writes_go_to_the_writer_and_reads_to_the_readers(the_cluster, apache):
    before = len(routes(apache))
    r = requests.post(apache.url + "/orthanc/instances",
                      data=unique_instance(), timeout=30)
    study = r.json()["ParentStudy"]
    for _ in range(12):
        assert requests.get(apache.url + "/orthanc/studies",
                            timeout=30).status_code == 200
    assert requests.post(apache.url + "/orthanc/tools/find", timeout=30, json={
        "Level": "Study", "Query": {}}).status_code == 200
    r = requests.put(f"{apache.url}/orthanc/studies/{study}/metadata/1024",
                     data="x", timeout=30)
    assert r.status_code == 200
    assert requests.delete(f"{apache.url}/orthanc/studies/{study}",
                           timeout=30).status_code == 200
    time.sleep(0.3)
    seen = collections.defaultdict(set)
    for _, method, path, status, route in routes(apache)[before:]:
        key = "read" if method == "GET" or path.endswith("/tools/find") \
            else "write"
        seen[key].add(route)
    print(f"\nmembers that served: {dict(seen)}")
    assert seen["write"] == {"writer"}
    # Both readers serve; the writer (lbset 1) only when no reader can.
    assert seen["read"] == {"reader1", "reader2"}


def test_a_client_cannot_pick_the_member(the_cluster, apache):
    """The module owns the balancer's sticky session: a client's cookie or
    path parameter of that name does not move a read to the writer nor a
    write to a reader, and Orthanc gets the client's own cookies."""
    before = len(routes(apache))
    jar = {"ORTHANC_PROXY_ROUTE": "pin.writer", "other": "kept"}
    for _ in range(6):
        r = requests.get(apache.url + "/orthanc/studies", cookies=jar,
                         timeout=30)
        assert r.status_code == 200
    r = requests.get(apache.url + "/orthanc/studies/ORTHANC_PROXY_ROUTE=writer",
                     timeout=30)
    assert r.status_code == 404
    r = requests.post(apache.url + "/orthanc/instances", data=unique_instance(),
                      cookies={"ORTHANC_PROXY_ROUTE": "pin.reader1"}, timeout=30)
    assert r.status_code == 200
    time.sleep(0.3)
    served = [(method, route) for _, method, _, _, route
              in routes(apache)[before:]]
    assert ("GET", "writer") not in served, served
    assert served[-1] == ("POST", "writer")
    cookies = [req["headers"].get("cookie") for orthanc in the_cluster.readers
               for req in orthanc.seen_requests()
               if req["uri"] == "/studies" and "cookie" in req["headers"]]
    assert cookies and all(c == "ORTHANC_PROXY_ROUTE=pin.writer; other=kept"
                           for c in cookies), cookies


def test_dicomweb_urls_name_the_public_prefix_whichever_member_answers(apache):
    urls = set()
    for _ in range(6):
        r = requests.get(apache.url + "/orthanc/dicom-web/studies",
                         headers={"Accept": "application/dicom+json"},
                         timeout=30)
        assert r.status_code == 200
        for study in r.json():
            urls.add(study["00081190"]["Value"][0].split("/dicom-web/")[0])
    assert urls == {apache.url + "/orthanc"}
    served = {route for _, _, path, _, route in routes(apache)
              if "/dicom-web/studies" in path}
    assert served == {"reader1", "reader2"}


def balancer_sticky(apache_url):
    """The sticky session balancer-manager shows for balancer://pacs:
    (cookie name, URL name)."""
    import html
    page = requests.get(apache_url + "/balancer-manager", timeout=10).text
    row = re.search(r"balancer://pacs</a>.*?<th>Active</th></tr>\s*<tr>"
                    r"<td>[^<]*</td>\s*<td>([^<]*)</td>", page, re.S)
    first = html.unescape(row.group(1)).strip()
    cookie, _, url_name = first.partition("|")
    return cookie.strip(), url_name.strip() or cookie.strip()


def path_param_route(url, name):
    """The route httpd 2.4.54 to 2.4.61 read from the URL (their
    get_path_param, with the query appended to the URL): the text after
    NAME and '=' up to ';', '?' or '&', or None."""
    at = url.find(name)
    while at >= 0:
        rest = url[at + len(name):]
        if rest.startswith("=") and len(rest) > 1:
            return re.split(r"[;?&]", rest[1:])[0]
        at = url.find(name, at + 1)
    return None


def test_no_url_can_carry_the_writer_route(the_cluster, apache):
    """On httpd 2.4.54 to 2.4.61 the balancer reads a sticky route from the
    URL before the cookie, and appends the raw query to that URL: with a
    URL name of "ORTHANC_PROXY_ROUTE;" a client could send a write to a
    reader (POST /orthanc/instances?ORTHANC_PROXY_ROUTE;=x.reader1).  The
    module's URL name holds a space, which no request URL carries.  (This
    httpd, 2.4.71, reads the route without the query: the POST below goes
    to the writer either way.)"""
    cookie, url_name = balancer_sticky(apache.url)
    assert cookie == "ORTHANC_PROXY_ROUTE"
    assert " " in url_name, url_name
    attack = "?ORTHANC_PROXY_ROUTE;=x.reader1"
    as_2458_reads = f"balancer://pacs/instances{attack}"
    assert path_param_route(as_2458_reads, url_name) is None
    before = len(routes(apache))
    r = requests.post(apache.url + "/orthanc/instances" + attack,
                      data=unique_instance(), timeout=30)
    assert r.status_code == 200, r.text
    time.sleep(0.3)
    assert [route for _, method, _, _, route in routes(apache)[before:]
            if method == "POST"] == ["writer"]


def test_balancer_manager_cannot_unpin_the_writer(the_cluster,
                                                  make_module_apache):
    """balancer-manager can change a balancer's sticky session and
    failover at run time: the module sets them back before it routes, and
    says so, so that writes still reach the writer."""
    front = make_module_apache(apache_body(the_cluster),
                               name="manager-front",
                               extra_modules=cluster.CLUSTER_MODULES)
    nonce, _ = cluster.manager_members(front.url)
    r = requests.post(front.url + "/balancer-manager", data={
        "b": "pacs", "nonce": nonce, "b_ss": "JSESSIONID", "b_sforce": "0"},
        headers={"Referer": front.url + "/balancer-manager"}, timeout=10)
    r.raise_for_status()
    assert balancer_sticky(front.url)[0] == "JSESSIONID"
    before = len(routes(front))
    for _ in range(4):
        r = requests.post(front.url + "/orthanc/instances",
                          data=unique_instance(), timeout=30)
        assert r.status_code == 200, r.text
    time.sleep(0.3)
    served = [route for _, method, _, _, route in routes(front)[before:]
              if method == "POST"]
    print(f"\nuploads after balancer-manager changed the sticky session: "
          f"{served}")
    assert served == ["writer"] * 4
    assert "was changed at run time, probably in balancer-manager" \
        in front.error_log()
    assert balancer_sticky(front.url)[0] == "ORTHANC_PROXY_ROUTE"


class DroppingRelay:
    """A TCP relay to TARGET_PORT on 127.0.0.1 that closes, once it is
    armed, the first connection whose data starts with PREFIX, without
    forwarding it: a member that drops a request before answering."""

    def __init__(self, target_port, prefix):
        import socket
        self.target_port = target_port
        self.prefix = prefix
        self.armed = threading.Event()
        self.dropped = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _matches(self, data):
        """METHOD /PATH... (a member URL with a final '/' doubles it)."""
        method, _, rest = data.partition(b" ")
        return (method + b" /" + rest.lstrip(b"/")).startswith(self.prefix)

    def _accept(self):
        import socket
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1",
                                                     self.target_port))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, source, sink, from_client):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self.armed.is_set() \
                        and self._matches(data):
                    self.armed.clear()
                    self.dropped += 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.listener.close()


def test_a_get_the_writer_drops_does_not_stop_the_writes(the_cluster,
                                                         make_module_apache):
    """The writer drops a GET before answering (a relay in front of it
    closes the connection): the module asks the balancer again, and does
    not put the writer in error, which would refuse every write and job
    for the whole health-check interval (10 s here)."""
    relay = DroppingRelay(the_cluster.writer.http_port, b"GET /jobs/")
    try:
        section = the_cluster.balancer_section(hcinterval=10).replace(
            the_cluster.writer.url + "/", relay.url + "/")
        body = apache_body(the_cluster).replace(
            the_cluster.balancer_section(), section)
        front = make_module_apache(body, name="relay-front",
                                   extra_modules=cluster.CLUSTER_MODULES)
        # A job lives on the writer: GET /jobs/{id} is pinned to it.
        r = requests.post(front.url + "/orthanc/instances",
                          data=unique_instance(), timeout=30)
        study = r.json()["ParentStudy"]
        r = requests.post(f"{front.url}/orthanc/studies/{study}/archive",
                          json={"Asynchronous": True}, timeout=60)
        job = f"{front.url}/orthanc/jobs/{r.json()['ID']}"
        # Pooled connections to the writer: the next GET reuses one.
        assert requests.get(job, timeout=30).ok
        relay.armed.set()
        r = requests.get(job, timeout=30)
        assert relay.dropped == 1
        assert r.status_code == 200, (r.status_code, r.text)
        upload = requests.post(front.url + "/orthanc/instances",
                               data=unique_instance(), timeout=30)
        print(f"\nthe writer dropped GET /jobs: asked again, {r.status_code};"
              f" an upload right after: {upload.status_code}")
        assert upload.status_code == 200, upload.text
        assert "dropped the request before answering; asking the balancer " \
            "again" in front.error_log()
    finally:
        relay.stop()


# ---------------------------------------------------------- job affinity


def wait_job(base, job, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{base}/jobs/{job}", timeout=30)
        if r.status_code != 200:
            return r.status_code
        state = r.json()["State"]
        if state in ("Success", "Failure"):
            return state
        time.sleep(0.05)
    return "timeout"


def run_jobs(start_base, poll_base, study, count):
    """COUNT asynchronous archives and modifications of STUDY started
    through START_BASE, polled and downloaded through POLL_BASE: the number
    that completed and were downloaded."""
    done = 0
    for i in range(count):
        r = requests.post(f"{start_base}/studies/{study}/archive",
                          json={"Asynchronous": True}, timeout=60)
        assert r.status_code == 200, r.text
        job = r.json()["ID"]
        archive_ok = wait_job(poll_base, job) == "Success" and requests.get(
            f"{poll_base}/jobs/{job}/archive", timeout=60).content[:2] == b"PK"
        r = requests.post(f"{start_base}/studies/{study}/modify", timeout=60,
                          json={"Asynchronous": True,
                                "Replace": {"StudyDescription": f"job {i}"}})
        assert r.status_code == 200, r.text
        job = r.json()["ID"]
        modified_ok = False
        if wait_job(poll_base, job) == "Success":
            output = requests.get(f"{poll_base}/jobs/{job}", timeout=30).json()
            modified = output["Content"].get("ID") or output["Content"].get(
                "ParentResources", [None])[0]
            r = requests.get(f"{poll_base}/studies/{modified}/archive",
                             timeout=60)
            modified_ok = r.status_code == 200 and r.content[:2] == b"PK"
            requests.delete(f"{start_base}/studies/{modified}", timeout=60)
        done += archive_ok and modified_ok
    return done


def test_asynchronous_jobs_complete_through_the_proxy(the_cluster, apache,
                                                      make_module_apache):
    """An asynchronous archive and an asynchronous modification started
    through the proxy are polled and downloaded through it, JOBS times in a
    row; and through a second Apache front end with the same configuration
    (the routing is stateless)."""
    r = requests.post(apache.url + "/orthanc/instances", data=unique_instance(),
                      timeout=30)
    study = r.json()["ParentStudy"]
    base = apache.url + "/orthanc"
    done = run_jobs(base, base, study, JOBS)
    second = make_module_apache(apache_body(the_cluster), name="second-front",
                                extra_modules=cluster.CLUSTER_MODULES)
    across = run_jobs(base, second.url + "/orthanc", study, 10)
    plain = make_module_apache(apache_body(the_cluster, writer=False),
                               name="plain-balancer",
                               extra_modules=cluster.CLUSTER_MODULES)
    plain_done = 0
    for _ in range(30):
        r = requests.post(f"{plain.url}/orthanc/studies/{study}/archive",
                          json={"Asynchronous": True}, timeout=60)
        job = r.json()["ID"]
        plain_done += wait_job(plain.url + "/orthanc", job) == "Success" \
            and requests.get(f"{plain.url}/orthanc/jobs/{job}/archive",
                             timeout=60).status_code == 200
    print(f"\njob affinity: {done} of {JOBS} archive+modification pairs "
          f"completed and downloaded through the module; {across} of 10 "
          f"started through one front end and polled through another; a "
          f"balancer without writer=: {plain_done} of 30 archives")
    assert done == JOBS
    assert across == 10


# ------------------------------------------------------------ failures


class Load:
    """A bounded load generator: THREADS clients with keep-alive sessions
    in a loop of GETs of studies, instances and previews, one upload of a
    new instance in every UPLOAD_EVERY requests.  Counts every request and
    every failure."""

    def __init__(self, base, threads=6, upload_every=8):
        self.base = base
        self.threads = threads
        self.upload_every = upload_every
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.counts = collections.defaultdict(collections.Counter)
        self.failures = []
        self.uploaded = []       # (upload id, status)
        r = requests.get(base + "/instances", timeout=30)
        self.instances = r.json()
        # Orthanc cannot render every sample (JPEG 2000: 415).
        self.previews = [i for i in self.instances if requests.get(
            f"{base}/instances/{i}/preview", timeout=30).status_code == 200]
        self.studies = requests.get(base + "/studies", timeout=30).json()
        self.workers = []
        # One new instance per upload: Orthanc 1.10.1 itself answers 500
        # ("Error while accessing the filesystem") now and then when two
        # uploads of an instance it already stores run at once, which a
        # few bodies sent in turn by six threads did (seen in CI).
        self.upload_bodies = {}
        self.next_upload = 0
        # Upload IDs unique across scenarios (the members' logs add up).
        self.tag = os.urandom(4).hex()

    def _one(self, session, i):
        detail = ""
        kind = "upload" if i % self.upload_every == self.upload_every - 1 \
            else "GET"
        if kind == "upload":
            with self.lock:
                n = self.next_upload
                self.next_upload += 1
            body = unique_instance()
            with self.lock:
                self.upload_bodies[n] = body
            try:
                r = self._send(session, "upload", "POST", "/instances",
                               data=body,
                               headers={"X-Upload-Id": f"{self.tag}-{n}"})
                outcome = r.status_code
                ok = outcome == 200
                if outcome == 503:
                    ok = None      # expected while the writer is down
                    assert r.headers["Content-Type"].startswith(
                        "application/json"), r.headers
                    json.loads(r.text)
            except requests.RequestException as e:
                outcome, ok = type(e).__name__, False
            if ok is False and not isinstance(outcome, str):
                detail = r.text[:200]
            with self.lock:
                self.uploaded.append((n, outcome))
        else:
            choice = i % 3
            if choice == 0:
                path = f"/studies/{self.studies[i % len(self.studies)]}"
            elif choice == 1:
                path = f"/instances/{self.instances[i % len(self.instances)]}/file"
            else:
                path = f"/instances/{self.previews[i % len(self.previews)]}/preview"
            try:
                r = self._send(session, "GET", "GET", path)
                outcome = r.status_code
                ok = outcome == 200
            except requests.RequestException as e:
                outcome, ok = type(e).__name__, False
            if ok is False and not isinstance(outcome, str):
                detail = r.text[:200]
        with self.lock:
            self.counts[kind]["requests"] += 1
            self.counts[kind][outcome] += 1
            if ok is False:
                self.counts[kind]["failed"] += 1
                self.failures.append((time.time(), kind, outcome, detail))

    def _send(self, session, kind, method, path, **kwargs):
        """send_as_a_browser, resends counted apart; the members' logs show
        that no upload reached Orthanc twice."""
        def resent():
            with self.lock:
                self.counts[kind]["resent by the client"] += 1
        return send_as_a_browser(session, method, self.base + path, resent,
                                 timeout=60, **kwargs)

    def _run(self, offset):
        session = requests.Session()
        i = offset
        while not self.stop_event.is_set():
            self._one(session, i)
            i += 1

    def __enter__(self):
        for t in range(self.threads):
            thread = threading.Thread(target=self._run, args=(t * 7,))
            thread.start()
            self.workers.append(thread)
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for thread in self.workers:
            thread.join(120)
        return False

    def report(self, scenario):
        lines = [f"\n[{scenario}]"]
        for kind in ("GET", "upload"):
            c = self.counts[kind]
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(
                c.items(), key=lambda kv: str(kv[0]))
                if k not in ("requests", "failed"))
            lines.append(f"  {kind}: {c['requests']} requests, {c['failed']} "
                         f"failed ({detail})")
        print("\n".join(lines))


def send_as_a_browser(session, method, url, resent, **kwargs):
    """A request as browsers send it: when a kept-alive connection is
    closed before any byte of the answer (the server closed it while idle,
    as Apache's graceful restart does with idle connections, so it never
    read the request), the request is sent again once on a new connection
    (RFC 9112, 9.3.1), an upload too; RESENT() is called then."""
    try:
        return session.request(method, url, **kwargs)
    except requests.ConnectionError as e:
        if "without response" not in str(e) and "reset by peer" not in str(e):
            raise
        resent()
        return session.request(method, url, **kwargs)


class FreshnessProbe:
    """Changes a series of its own straight on the cluster (on the writer,
    or on a reader while the writer is down: they share the database) and
    reads its DICOMweb instance list through the front end until the change
    shows: an instance added, then deleted, in turn.  An answer that does
    not show a change yet, to a request sent more than
    OrthancProxyCacheMaxDelay after it, is stale (a request sent before
    that may be answered from the cache, however long the answer takes to
    arrive during a restart); an answer other than 200 is a failed GET."""

    def __init__(self, base, the_cluster, label):
        self.the_cluster = the_cluster
        self.series = ct_series.new_series(400, 64, 64, label=label)
        self.url = (f"{base}/dicom-web/studies/{self.series.study_uid}/series/"
                    f"{self.series.series_uid}/instances")
        self.stop_event = threading.Event()
        self.changes = self.answers = self.stale = self.failed = 0
        self.resent = 0
        self.delays = []
        self.late = []          # (sent after the change, answered after)
        self.errors = []
        self.present = {self.series.sop_uids[0]}
        self.thread = None
        self._post(ct_series.instance_bytes(self.series, 0))

    def _resent(self):
        self.resent += 1

    def _members(self):
        return [o for o in self.the_cluster.orthancs if o.proc is not None]

    def _post(self, body):
        for orthanc in self._members():
            try:
                r = requests.post(orthanc.url + "/instances", data=body,
                                  timeout=30)
                if r.status_code == 200:
                    return r.json()["ID"]
            except requests.RequestException:
                pass
        return None

    def _delete(self, instance):
        """Whether the instance is gone.  A member stopped while it deletes
        can commit the deletion and close the connection before it answers:
        the next member then answers 404, which also means gone (the
        instance was there, and the members share their database)."""
        for orthanc in self._members():
            try:
                if requests.delete(f"{orthanc.url}/instances/{instance}",
                                   timeout=30).status_code in (200, 404):
                    return True
            except requests.RequestException:
                pass
        return False

    def _check(self, session, changed_at):
        deadline = changed_at + MAX_DELAY + 5
        while time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                r = send_as_a_browser(session, "GET", self.url, self._resent,
                                      timeout=30)
            except requests.RequestException as e:
                self.failed += 1
                self.errors.append(type(e).__name__)
                time.sleep(0.05)
                continue
            now = time.monotonic()
            self.answers += 1
            if r.status_code != 200:
                self.failed += 1
                self.errors.append(r.status_code)
            elif {i["00080018"]["Value"][0] for i in r.json()} == self.present:
                self.delays.append(now - changed_at)
                return
            elif sent - changed_at > MAX_DELAY:
                self.stale += 1
                self.late.append((round(sent - changed_at, 3),
                                  round(now - sent, 3)))
            time.sleep(0.02)

    def _run(self):
        session = requests.Session()
        index = 1
        while not self.stop_event.is_set() and index < len(self.series.sop_uids):
            sop = self.series.sop_uids[index]
            instance = self._post(ct_series.instance_bytes(self.series, index))
            if instance is None:
                time.sleep(0.2)
                continue
            changed = time.monotonic()
            self.present.add(sop)
            self.changes += 1
            self._check(session, changed)
            if self._delete(instance):
                changed = time.monotonic()
                self.present.discard(sop)
                self.changes += 1
                self._check(session, changed)
            index += 1

    def __enter__(self):
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(120)
        return False

    def report(self):
        worst = max(self.delays) if self.delays else 0
        print(f"  cache: {self.changes} changes made straight on the members, "
              f"{self.answers} probe answers through the cache: "
              f"{self.stale} stale, {self.failed} failed {self.errors[:5]} "
              f"(resent by the client: {self.resent}); "
              f"fresh within {worst:.2f} s at worst")


def probe_for(kind, apache, the_cluster, label):
    """A FreshnessProbe for the cached front end, else nothing to do."""
    if kind != "cache":
        return contextlib.nullcontext()
    return FreshnessProbe(apache.url + "/orthanc", the_cluster, label)


def check_probe(kind, probe):
    if kind == "cache":
        probe.report()
        assert probe.changes > 0
        assert probe.stale == 0, (probe.late, probe.delays)
        assert probe.failed == 0, probe.errors


def posts_received(the_cluster):
    """Upload id -> how many times the members received it."""
    received = collections.Counter()
    for orthanc in the_cluster.orthancs:
        for req in orthanc.seen_requests():
            n = req["headers"].get("x-upload-id")
            if req["method"] == "POST" and n is not None:
                received[n] += 1
    return received


def first_served_after(apache, route, since):
    for t, _, _, status, served_by in routes(apache):
        if served_by == route and t >= since and status < 500:
            return t
    return None


def check_no_post_twice(the_cluster):
    received = posts_received(the_cluster)
    twice = {n: c for n, c in received.items() if c > 1}
    assert not twice, f"POSTs received more than once: {twice}"


def test_scenario_reader_killed_and_restarted(the_cluster, front):
    kind, apache = front
    reader = the_cluster.by_route("reader1")
    log_before = len(apache.error_log())
    with Load(apache.url + "/orthanc") as load, \
            probe_for(kind, apache, the_cluster, "KILLED" + kind) as probe:
        time.sleep(LOAD_SECONDS / 2)
        os.kill(reader.pid, signal.SIGKILL)
        reader.proc.wait()
        killed_at = time.time()
        time.sleep(LOAD_SECONDS / 2)
        down_for = time.time() - killed_at
        reader.start()
        up_at = time.time()
        harness.wait_until(lambda: first_served_after(apache, "reader1", up_at),
                           30, interval=0.1, what="reader1 to serve again")
        back = first_served_after(apache, "reader1", up_at) - up_at
        time.sleep(1)
    load.report(f"reader killed with SIGKILL and restarted ({kind})")
    connect_errors = apache.error_log()[log_before:].count("AH00957")
    print(f"  reader1 served again {back:.2f} s after it was listening; "
          f"{connect_errors} failed connects logged in {down_for:.1f} s down")
    assert load.counts["GET"]["failed"] == 0, load.failures
    assert load.counts["upload"]["failed"] == 0, load.failures
    check_no_post_twice(the_cluster)
    check_probe(kind, probe)


def test_scenario_writer_restarted(the_cluster, front):
    kind, apache = front
    writer = the_cluster.writer
    log_before = len(apache.error_log())
    with Load(apache.url + "/orthanc") as load, \
            probe_for(kind, apache, the_cluster, "WRITER" + kind) as probe:
        time.sleep(LOAD_SECONDS / 2)
        writer.stop()
        time.sleep(LOAD_SECONDS / 2)
        writer.start()
        up_at = time.time()
        harness.wait_until(lambda: first_served_after(apache, "writer", up_at),
                           30, interval=0.1, what="the writer to serve again")
        back = first_served_after(apache, "writer", up_at) - up_at
        time.sleep(1)
    load.report(f"writer restarted ({kind})")
    refused = load.counts["upload"][503]
    print(f"  uploads answered 503 (JSON) while the writer was down: "
          f"{refused}; the writer served again {back:.2f} s after it was "
          f"listening")
    assert load.counts["GET"]["failed"] == 0, load.failures
    assert refused > 0
    check_no_post_twice(the_cluster)
    check_probe(kind, probe)
    if kind == "cache":
        # The follower read the log from a reader while the writer was down.
        failover = [line for line in apache.error_log()[log_before:]
                    .splitlines() if "reading the changes of balancer://pacs/"
                    in line]
        print(f"  follower failovers: {len(failover)}"
              + (f"; {failover[0].split('OrthancProxyCache: ')[1]}"
                 if failover else ""))
        assert failover
    # What was stored is stored once, and every upload answered 200 is there.
    stored = {n for n, status in load.uploaded if status == 200}
    for n in stored:
        body = load.upload_bodies[n]
        sop = pydicom.dcmread(io.BytesIO(body)).SOPInstanceUID
        r = requests.post(apache.url + "/orthanc/tools/find", timeout=30, json={
            "Level": "Instance", "Query": {"SOPInstanceUID": sop}})
        assert len(r.json()) == 1


def test_scenario_graceful_restart_twice(the_cluster, front):
    kind, apache = front
    with Load(apache.url + "/orthanc") as load, \
            probe_for(kind, apache, the_cluster, "GRACEFUL" + kind) as probe:
        time.sleep(LOAD_SECONDS / 3)
        os.kill(apache.proc.pid, signal.SIGUSR1)
        time.sleep(LOAD_SECONDS / 3)
        os.kill(apache.proc.pid, signal.SIGUSR1)
        time.sleep(LOAD_SECONDS / 3)
    load.report(f"apachectl -k graceful, twice ({kind})")
    assert load.counts["GET"]["failed"] == 0, load.failures
    assert load.counts["upload"]["failed"] == 0, load.failures
    check_no_post_twice(the_cluster)
    check_probe(kind, probe)


def test_scenario_member_drained_and_enabled_through_balancer_manager(
        the_cluster, front):
    kind, apache = front
    reader = the_cluster.by_route("reader2")
    nonce, members = cluster.manager_members(apache.url)
    name = next(n for n in members if n.startswith(reader.url))
    print(f"\nbalancer-manager before: {members[name]}")
    with Load(apache.url + "/orthanc") as load, \
            probe_for(kind, apache, the_cluster, "DRAIN" + kind) as probe:
        time.sleep(LOAD_SECONDS / 3)
        cluster.set_member_status(apache.url, name, nonce, drain=1)
        drained_at = time.time()
        status = cluster.manager_members(apache.url)[1][name]
        print(f"  balancer-manager while drained: {status}")
        assert any("Drn" in cell for cell in status), status
        time.sleep(LOAD_SECONDS / 3)
        cluster.set_member_status(apache.url, name, nonce, drain=0)
        enabled_at = time.time()
        time.sleep(LOAD_SECONDS / 3)
    load.report(f"member drained and enabled through balancer-manager ({kind})")
    during = [r for r in routes(apache)
              if drained_at + 1 < r[0] < enabled_at and r[4] == "reader2"]
    after = first_served_after(apache, "reader2", enabled_at)
    print(f"  requests to reader2 while drained: {len(during)} "
          f"{[(round(t - drained_at, 3), p) for t, _, p, _, _ in during]}; "
          f"served again {after - enabled_at:.2f} s after it was enabled")
    assert load.counts["GET"]["failed"] == 0, load.failures
    assert load.counts["upload"]["failed"] == 0, load.failures
    # Not understood yet: in 2 runs out of about 8, one preview request
    # that Apache received more than 1 s after the drain was served by the
    # drained member (0 in the others).  Reported, bounded here.
    assert len(during) <= 2, during
    assert after is not None
    check_probe(kind, probe)


# ------------------------------------------------------- configuration


@pytest.mark.parametrize("member, key, message", [
    ("", "writer=master", "no BalancerMember of balancer://pacs has route=master"),
    ("hcmethod=HEAD", "writer=writer", "uses HEAD, which Orthanc answers with 404"),
])
def test_configtest_names_cluster_mistakes(make_apache, member, key, message):
    body = f"""
<Proxy balancer://pacs>
    BalancerMember http://127.0.0.1:9/ route=writer {member}
</Proxy>
OrthancProxy /orthanc/ balancer://pacs/ {key}
"""
    apache = make_apache(body, start=False, extra_modules=cluster.CLUSTER_MODULES)
    status, output = apache.configtest()
    assert status != 0 and message in output, output


def test_configtest_refuses_a_writer_without_a_balancer(make_apache):
    apache = make_apache("OrthancProxy /orthanc/ http://127.0.0.1:9/ writer=a\n",
                         start=False)
    status, output = apache.configtest()
    assert status != 0 and "writer=ROUTE names a BalancerMember" in output, output
