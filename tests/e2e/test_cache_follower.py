# SPDX-License-Identifier: Apache-2.0
"""OrthancProxyCache's change follower and counters under the failures a
review found (issue 15, defects 2, 3, 7, 8 and 9): a flood of requests for
IDs that do not exist, an Orthanc that stalls, a hostile answer, a name
that resolves to an address where Orthanc does not listen, a backlog of
changes, a lookup Orthanc refuses, credentials given in an enclosing
<Location>.  Each test fails with the module of before the fix.
"""

import os
import random
import signal
import socket
import socketserver
import subprocess
import threading
import time

import pytest
import requests

import ct_series
import test_cache
import test_memcheck
from harness import HTTPD, SANITIZER_PRELOAD, httpd_env, port_open, \
    start_process, wait_until
from test_cache import CACHE_MODULES, MAX_DELAY, cache_dir, cache_site, \
    cached_apache, fresh_within, own_instance, wait_for_follower, warm, \
    x_cache

ORTHANC_OPTIONS = {"settings": {"UserMetadata": {"Sample": 1024}}}


def hits(session, urls):
    return [x_cache(session.get(url)) for url in urls]


# ---------------------------------------------- defect 2: cheap 404s flush

def test_a_flood_of_unknown_ids_flushes_nothing(orthanc, make_apache,
                                                 workdir):
    """8,000 requests for instances that do not exist (cheap 404s) do not
    push the counters of the answers in the cache out: every warm URL is
    still a hit.  (With tokens in a 512 KB shmcb, ~6,000 such requests made
    6 of 6 warm URLs miss.)"""
    description, answers = own_instance(orthanc, "FLOOD", slices=3)
    series = answers[0]["ParentSeries"]
    # Orthanc marks the series stable a second later: a change.
    test_cache.settled(orthanc, series)
    apache = cached_apache(make_apache, orthanc, workdir)
    base = f"{apache.url}/orthanc"
    # Answers of every kind that no Orthanc shows labels in.
    dicomweb = (f"{base}/dicom-web/studies/{description.study_uid}/series/"
                f"{description.series_uid}")
    urls = [f"{base}/instances/{a['ID']}/preview" for a in answers]
    urls += [f"{dicomweb}/metadata", f"{dicomweb}/instances",
             f"{base}/instances/{answers[0]['ID']}/tags?simplify"]
    with requests.Session() as session:
        warm(session, urls)

    def flood(seed):
        rng = random.Random(seed)
        with requests.Session() as s:
            for _ in range(2000):
                fake = "-".join(f"{rng.getrandbits(32):08x}" for _ in range(5))
                assert s.get(f"{base}/instances/{fake}/preview").status_code \
                    == 404
    threads = [threading.Thread(target=flood, args=(i,)) for i in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"8000 requests for unknown IDs in {time.monotonic() - started:.1f} s")
    with requests.Session() as session:
        # The follower may be behind on a loaded machine: in step again,
        # every warm URL must be a hit.
        wait_until(lambda: x_cache(session.get(urls[0])) == "HIT", 20,
                   what="the cache to be in step")
        assert hits(session, urls) == ["HIT"] * len(urls)


# ---------------------------------- defect 3: one stalled Orthanc, all off

def test_a_stalled_orthanc_leaves_the_cache_of_the_others_on(
        make_orthanc, make_apache, workdir):
    """Two Orthancs, one mapping each: while one is stopped (SIGSTOP), the
    other's answers still come from the cache, and stay fresh."""
    first = make_orthanc(name="stalled")
    second = make_orthanc(name="healthy")
    answer = second.upload(ct_series.instance_bytes(
        ct_series.new_series(2, 64, 64, label="HEALTHY"), 0))
    site = cache_site(second.url, cache_dir(workdir)) + f"""
OrthancProxy /stalled/ {first.url}/
<Location /stalled/>
    OrthancProxyCache on
</Location>
"""
    apache = make_apache(site, extra_modules=CACHE_MODULES)
    wait_until(lambda: apache.error_log().count("following the changes") >= 2,
               30, what="both followers")
    url = f"{apache.url}/orthanc/instances/{answer['ID']}/preview"
    with requests.Session() as session:
        warm(session, [url])
        first.suspend()
        try:
            time.sleep(3 * MAX_DELAY)
            seen = hits(session, [url] * 5)
            # A change on the healthy one is still seen in time.
            listing = f"{apache.url}/orthanc/dicom-web/instances"
            warm(session, [listing])
            second.upload(ct_series.instance_bytes(
                ct_series.new_series(1, 64, 64, label="HEALTHY2"), 0))
            fresh_within(session, {listing: lambda r: len(r.json()) == 2},
                         time.monotonic())
        finally:
            first.resume()
    assert seen == ["HIT"] * 5, seen
    assert f"cannot follow the changes of {first.url}/" in apache.error_log()


# ---------------------------------------- defect 7: a hostile chunked answer

class HostileHandler(socketserver.BaseRequestHandler):
    """Answers every request with a chunk size of 2^64 - 1."""

    def handle(self):
        self.request.settimeout(5)
        try:
            self.request.recv(65536)
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: application/json\r\n\r\n"
                b"FFFFFFFFFFFFFFFF\r\n{\"Version\": \"1.10.1\"}\r\n0\r\n\r\n")
        except OSError:
            pass


class Hostile(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def test_a_hostile_chunked_answer_cannot_corrupt_memory(make_apache, workdir):
    """The follower reads a chunked answer whose chunk size wraps a 64-bit
    size: it refuses it and says so, and Apache (under valgrind unless the
    module is sanitized, where ASan watches) reads no memory it should
    not."""
    server = Hostile(("127.0.0.1", 0), HostileHandler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        site = cache_site(f"http://127.0.0.1:{port}", cache_dir(workdir))
        if SANITIZER_PRELOAD:
            apache = make_apache(site, extra_modules=CACHE_MODULES)
            wait_until(lambda: "cannot follow the changes" in
                       apache.error_log(), 30, what="the follower's report")
            assert apache.proc.poll() is None
            assert apache.child_pids()
        else:
            apache = make_apache(site, start=False,
                                 extra_modules=CACHE_MODULES)
            log_path = os.path.join(workdir, "valgrind.log")
            proc = test_memcheck.start_under_valgrind(apache, log_path)
            try:
                wait_until(lambda: "cannot follow the changes" in
                           apache.error_log() or proc.poll() is not None,
                           120, what="the follower's report")
                time.sleep(2)
                assert proc.poll() is None, "Apache died"
            finally:
                test_memcheck.stop_under_valgrind(proc)
            test_memcheck.assert_no_memcheck_errors(log_path)
    finally:
        server.shutdown()
        server.server_close()
    print([line for line in apache.error_log().splitlines()
           if "cannot follow" in line][0])


# ------------------------------------- defect 8: addresses, bounded memory

def test_a_name_whose_first_address_is_not_orthancs(orthanc, make_apache,
                                                    workdir):
    """The backend is named by a host name that resolves to ::1 first (as
    "localhost" often does) while Orthanc listens on IPv4 only: the
    follower tries the next address, as mod_proxy does.  Apache runs in a
    private mount namespace with its own /etc/hosts."""
    hosts = os.path.join(workdir, "hosts")
    with open(hosts, "w") as f:
        f.write("::1 orthanc-host\n127.0.0.1 orthanc-host\n"
                "127.0.0.1 localhost\n")
    os.chmod(hosts, 0o644)
    _, answers = own_instance(orthanc, "ADDRESSES")
    url = orthanc.url.replace("127.0.0.1", "orthanc-host")
    apache = make_apache(cache_site(url, cache_dir(workdir)), start=False,
                         extra_modules=CACHE_MODULES)
    command = ["unshare", "--mount", "--propagation", "private", "--",
               "/bin/sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
               hosts, HTTPD, "-f", apache.config_path, "-DFOREGROUND"]
    apache.proc = start_process(command, os.path.join(apache.workdir,
                                                      "stderr.log"),
                                apache.workdir, env=httpd_env())
    try:
        wait_until(lambda: port_open(apache.port), 30, what="httpd to listen")
        wait_for_follower(apache, timeout=30)
        preview = f"{apache.url}/orthanc/instances/{answers[0]['ID']}/preview"
        with requests.Session() as session:
            warm(session, [preview])
    finally:
        apache.stop()


def child_peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_backlog_of_changes_is_read_in_bounded_memory(orthanc, make_apache,
                                                        workdir):
    """One child runs the follower; it is stopped (SIGSTOP) while 6,000
    changes are logged, then resumed: its peak memory grows by less than
    4 MiB while it reads them (a pass kept every page before: ~117 KB per
    100 changes, 7 MB here)."""
    _, answers = own_instance(orthanc, "BACKLOG", slices=1)
    instance = answers[0]["ID"]
    apache = make_apache(cache_site(orthanc.url, cache_dir(workdir),
                                    server="StartServers 1\nServerLimit 1\n"
                                    "ThreadsPerChild 10\n"
                                    "MaxRequestWorkers 10\n"),
                         extra_modules=CACHE_MODULES)
    wait_for_follower(apache)
    [child] = apache.child_pids()
    url = f"{apache.url}/orthanc/instances/{instance}/metadata/Sample"
    direct = f"{orthanc.url}/instances/{instance}/metadata/Sample"
    assert requests.put(direct, data="0").ok
    with requests.Session() as session:
        warm(session, [url])
        # The child's memory once it has served and followed.
        time.sleep(1)
        before = child_peak_kib(child)
        os.kill(child, signal.SIGSTOP)
        try:
            def put(offset):
                with requests.Session() as s:
                    for i in range(1500):
                        try:
                            r = s.put(direct, data=str(offset + i))
                        except requests.ConnectionError:
                            # Orthanc closed a kept-alive connection.
                            r = s.put(direct, data=str(offset + i))
                        assert r.ok
            threads = [threading.Thread(target=put, args=(k * 1500,))
                       for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert requests.put(direct, data="last").ok
        finally:
            os.kill(child, signal.SIGCONT)
        changed = time.monotonic()
        # The child closes the session's kept-alive connection as soon as it
        # runs again (its KeepAliveTimeout passed while it was stopped):
        # the reads go on new connections.
        session.close()
        wait_until(lambda: session.get(url).text == "last", 120,
                   what="the backlog to be read")
        wait_until(lambda: x_cache(session.get(url)) == "HIT", 60,
                   what="the cache to be in step")
        after = child_peak_kib(child)
    print(f"backlog of 6001 changes read in {time.monotonic() - changed:.1f} "
          f"s; the child's peak memory {before} -> {after} KiB "
          f"(+{after - before})")
    assert after - before < 4096


# ----------------------------------------- defect 9: lookups, credentials

REFUSE_LOOKUPS = """
function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  -- The follower's own requests carry no Forwarded header.
  if httpHeaders['forwarded'] == nil and string.match(uri, '^/instances/[^/]+$')
  then
    return false
  end
  return true
end
"""


def test_a_lookup_orthanc_refuses_does_not_stop_the_follower(
        make_orthanc, make_apache, workdir):
    """Orthanc answers the follower's lookup of a new instance with 403 (a
    Lua filter): the follower makes everything fresh and goes on, instead
    of failing on that change at every pass from then on."""
    lua = os.path.join(workdir, "refuse.lua")
    with open(lua, "w") as f:
        f.write(REFUSE_LOOKUPS)
    own = make_orthanc(name="refusing", settings={"LuaScripts": [lua]})
    description = ct_series.new_series(3, 64, 64, label="REFUSED")
    first = own.upload(ct_series.instance_bytes(description, 0))
    apache = cached_apache(make_apache, own, workdir)
    base = f"{apache.url}/orthanc"
    listing = (f"{base}/dicom-web/studies/{description.study_uid}/series/"
               f"{description.series_uid}/instances")
    preview = f"{base}/instances/{first['ID']}/preview"
    with requests.Session() as session:
        warm(session, [listing, preview])
        own.upload(ct_series.instance_bytes(description, 1))
        fresh_within(session, {listing: lambda r: len(r.json()) == 2},
                     time.monotonic())
        # Still following: answers come from the cache again.
        time.sleep(3 * MAX_DELAY)
        warm(session, [preview, listing])
        own.upload(ct_series.instance_bytes(description, 2))
        fresh_within(session, {listing: lambda r: len(r.json()) == 3},
                     time.monotonic())
    assert "cannot follow the changes" not in apache.error_log()


def test_credentials_of_an_enclosing_location_reach_the_follower(
        make_orthanc, make_apache, workdir):
    """OrthancProxyCredentials in <Location /orthanc/>, OrthancProxyCache
    on in a nested <Location /orthanc/instances/>: the follower sends the
    credentials a request of the mapping carries."""
    own = make_orthanc(name="authenticated", settings={
        "AuthenticationEnabled": True,
        "RegisteredUsers": {"proxy": "s3cret"}})
    answer = requests.post(own.url + "/instances", auth=("proxy", "s3cret"),
                           data=ct_series.instance_bytes(
                               ct_series.new_series(1, 64, 64, label="CRED"),
                               0)).json()
    site = f"""
CacheQuickHandler Off
CacheRoot "{cache_dir(workdir)}"
CacheEnable disk /orthanc/
CacheHeader on
OrthancProxy /orthanc/ {own.url}/
<Location /orthanc/>
    OrthancProxyCredentials proxy s3cret
</Location>
<Location /orthanc/instances/>
    OrthancProxyCache on
</Location>
"""
    apache = make_apache(site, extra_modules=CACHE_MODULES)
    wait_for_follower(apache)
    with requests.Session() as session:
        warm(session, [f"{apache.url}/orthanc/instances/{answer['ID']}/preview"])
    assert "cannot follow" not in apache.error_log()


# ------------------------- defect 4: changes committed out of their order

class SqlSession:
    """A psql session on PostgreSQL PG, fed one statement at a time (a
    transaction stays open between them)."""

    def __init__(self, pg, user="orthanc"):
        import cluster
        self.proc = subprocess.Popen(
            [os.path.join(cluster.PG_BIN, "psql"), "-h", "127.0.0.1", "-p",
             str(pg.port), "-U", user, "-v", "ON_ERROR_STOP=1", "-q",
             "orthanc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, cwd=pg.dir, user=pg.user)

    def run(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def close(self):
        return self.proc.communicate(timeout=60)[0]


def test_a_change_committed_after_a_later_one_is_applied(make_apache,
                                                         workdir):
    """Orthanc on PostgreSQL with another writer: a metadata change gets
    sequence number N in a transaction that commits after N+1 (written
    through Orthanc).  The follower reads N+1 first, keeps the hole open
    and applies N when it is committed: the cached metadata is fresh within
    a second of the commit (before, the cursor moved past N for good).

    orthanc-postgresql's trigger on the change log updates one row of
    GlobalIntegers, so two writers race only between taking a sequence
    number and that trigger: the writer that took N can reach the trigger
    after the one that took N+1 has committed.  The other writer here
    takes N and skips the trigger (session_replication_role, as
    PostgreSQL's superuser), which is that race made certain."""
    import cluster
    import shutil
    import tempfile
    # PostgreSQL's socket path must stay short: not below WORKDIR.
    short = tempfile.mkdtemp(prefix="op-pg-")
    os.chmod(short, 0o755)
    pg = cluster.PostgreSQL(short).start()
    orthanc = None
    try:
        pg.create_database("orthanc", "orthanc")
        storage = os.path.join(workdir, "storage")
        os.makedirs(storage)
        settings = cluster.member_settings(pg, storage, "single")
        settings["UserMetadata"] = {"Sample": 1024}
        import harness
        orthanc = harness.Orthanc(workdir, name="pg-orthanc",
                                  settings=settings).start()
        description = ct_series.new_series(2, 64, 64, label="LATE")
        late, other = [orthanc.upload(ct_series.instance_bytes(description, i))
                       for i in range(2)]
        direct = f"{orthanc.url}/instances/{late['ID']}/metadata/Sample"
        assert requests.put(direct, data="early").ok
        apache = cached_apache(make_apache, orthanc, workdir)
        url = f"{apache.url}/orthanc/instances/{late['ID']}/metadata/Sample"
        sql = SqlSession(pg, user="postgres")
        try:
            # Written as Orthanc writes a metadata change, by another writer
            # whose transaction stays open.
            sql.run("BEGIN;")
            sql.run("SET LOCAL session_replication_role = replica;")
            sql.run(f"UPDATE metadata SET value = 'late', revision = revision + 1"
                    f" WHERE type = 1024 AND id = (SELECT internalid FROM"
                    f" resources WHERE publicid = '{late['ID']}');")
            sql.run("INSERT INTO changes (changetype, internalid, resourcetype,"
                    " date) SELECT changetype, internalid, resourcetype, date"
                    " FROM changes WHERE seq = (SELECT max(seq) FROM changes"
                    f" WHERE internalid = (SELECT internalid FROM resources"
                    f" WHERE publicid = '{late['ID']}') AND changetype = 16);")
            time.sleep(0.5)
            # A later change commits first.
            assert requests.put(f"{orthanc.url}/instances/{other['ID']}"
                                f"/metadata/Sample", data="x", timeout=30).ok
            with requests.Session() as session:
                # The follower has seen it (and the hole before it): the
                # early value is cached again.
                time.sleep(2 * MAX_DELAY)
                warm(session, [url])
                assert session.get(url).text == "early"
                sql.run("COMMIT;")
                sql.run("SELECT 1;")
                wait_until(lambda: requests.get(direct).text == "late", 10,
                           what="the commit")
                fresh_within(session, {url: lambda r: r.text == "late"},
                             time.monotonic())
        finally:
            print(sql.close())
    finally:
        if orthanc:
            orthanc.stop()
        pg.stop()
        shutil.rmtree(short, ignore_errors=True)
