#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What an image viewer gets from OrthancProxyCache, against the alternatives,
in one run.

The viewer workload, on a CT series of SLICES slices of SIZE x SIZE (100 of
512 x 512 by default, written by tests/e2e/ct_series.py and stored in a
private Orthanc): the QIDO study list, the series' DICOMweb metadata, every
frame (DICOMweb .../frames/1) and every preview (/instances/{id}/preview) -
2 + 2 x SLICES requests, asked again and again by C clients (16).

Targets, started by this script on free 127.0.0.1 ports and stopped by PID:
  direct       Orthanc itself
  module       Apache with OrthancProxy, no cache
  cache-cold   Apache with OrthancProxyCache on, empty: answers up to 1 MB
               in mod_cache_socache (shmcb, 512 MB), larger ones in
               mod_cache_disk, as docs/cache.md's example
  cache-warm   the same, once it holds the workload
  cache-warm-disk   the same with every answer in mod_cache_disk
  cache-warm-event  cache-warm on the event MPM
  nginx        nginx proxy_cache as an administrator sets it for Orthanc,
               which sends no Cache-Control: proxy_cache_valid 200 10m;
               sendfile on (as Debian's nginx.conf has it)
  nginx-nosendfile  the same with nginx's built-in default, sendfile off
  static       Apache serving the same answers as static files: what
               Apache itself can do on this machine
Every Apache runs the worker MPM with its default settings (--mpm), and
"EnableMMAP Off" + "EnableSendfile On": what docs/cache.md recommends for a
front end that serves answers from mod_cache_disk.  Answers are sent from
their files with sendfile(), not mapped and unmapped for each request (a
TLB shoot-down on every core), and a kept-alive connection stays with its
thread (the event MPM hands each request from its listener to a worker:
about 30 % more CPU per cached answer here).  Neither nginx nor Apache
writes an access log here.

Measured:
  - one pass over the workload (every request once, C clients, a Python
    driver), module against cache-cold, round after round, each cold round
    on a fresh Apache (new counters: an empty cache);
  - wrk -c C for S seconds against direct and module once, and against
    cache-warm, both nginx and static in --wrk-rounds rounds whose order
    alternates (the caches filled by one pass first): requests/s, p50 and
    p99, and cache-warm / nginx round by round;
  - staleness: on a separate small series, cache a preview and the series'
    metadata through the target, then delete the instance and add another
    straight on Orthanc; after 1 s, is the deleted preview still served,
    does the metadata still miss the new instance?
  - with --perf S: where the warm cache's time goes, perf record -g on
    Apache's children for S seconds of wrk (perf report by library and by
    function).

Usage: bench/viewer_bench.py [--slices N] [--size PIXELS] [--connections C]
       [--seconds S] [--rounds R (5)] [--wrk-rounds R (5)] [--perf S]
       [--json FILE] [--keep]
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import requests        # noqa: E402
import harness         # noqa: E402
import ct_series       # noqa: E402
from measure import cpu_seconds  # noqa: E402

CACHE_MODULES = ["cache", "cache_disk", "cache_socache", "socache_shmcb",
                 "slotmem_shm"]
# Every client of the benchmark sends these (Orthanc and the cache key
# negotiate on them), like a browser's fetch().
HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# Every Apache of the benchmark: answers from files go out with sendfile().
APACHE_TUNING = "EnableMMAP Off\nEnableSendfile On\n"
MODULE_SITE = APACHE_TUNING + "OrthancProxy /orthanc/ {url}/ timeout=600\n"
STATIC_SITE = APACHE_TUNING
CACHE_SITE = APACHE_TUNING + """
CacheQuickHandler Off
CacheRoot "{root}"
{socache}CacheEnable disk /orthanc/
CacheMaxFileSize 100000000
CacheDirLevels 2
CacheDirLength 1
OrthancProxy /orthanc/ {url}/ timeout=600
<Location /orthanc/>
    OrthancProxyCache on
</Location>
"""

# docs/cache.md's configuration: answers up to 1 MB (previews, 512 x 512
# frames, QIDO) in shared memory, larger ones on disk; mod_cache tries the
# providers in the order of the CacheEnable lines.
SOCACHE = """CacheSocache "shmcb:{root}/answers(536870912)"
CacheSocacheMaxSize 1048576
CacheEnable socache /orthanc/
"""

NGINX_CONF = """
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile {sendfile};
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy_temp;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # What an administrator writes for a backend that sends no
    # Cache-Control: cache every 200 for ten minutes.
    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=orthanc:10m
                     max_size=4g inactive=60m use_temp_path=off;
    upstream orthanc {{
        server 127.0.0.1:{orthanc_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location /orthanc/ {{
            proxy_pass http://orthanc/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache orthanc;
            proxy_cache_valid 200 10m;
            proxy_cache_lock on;
        }}
    }}
}}
"""

WRK_SCRIPT = """
local paths = {{}}
for line in io.lines("{paths}") do paths[#paths + 1] = line end
local next_thread = 0
function setup(thread)
  thread:set("offset", next_thread * 997)
  next_thread = next_thread + 1
end
local i = 0
function init(args)
  i = offset % #paths
  -- What the Python clients send too: the cache keys on them.
  wrk.headers["Accept"] = "{accept}"
  wrk.headers["Accept-Encoding"] = "{encoding}"
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", "{prefix}" .. paths[i])
end
"""


class Nginx:
    def __init__(self, workdir, orthanc_port, sendfile=True):
        self.prefix = os.path.join(workdir, "nginx" if sendfile
                                   else "nginx-nosendfile")
        for sub in ("cache", "client_body", "proxy_temp", "fastcgi", "uwsgi",
                    "scgi"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
            os.chmod(os.path.join(self.prefix, sub), 0o777)
        self.port = harness.free_port()
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(prefix=self.prefix, port=self.port,
                                      orthanc_port=orthanc_port,
                                      sendfile="on" if sendfile else "off"))
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = harness.start_process(
            [NGINX, "-p", self.prefix, "-c", self.conf, "-g",
             "daemon off; master_process on;"],
            os.path.join(self.prefix, "stdout.log"), self.prefix)
        harness.wait_until(lambda: harness.port_open(self.port), 30,
                           what="nginx to listen")
        return self

    def stop(self):
        harness.stop_process(self.proc, signal.SIGQUIT)
        self.proc = None


def workload(orthanc_url, series, ids):
    """The viewer's requests, as paths below Orthanc's root."""
    study, serie = series.study_uid, series.series_uid
    paths = ["/dicom-web/studies?limit=100",
             f"/dicom-web/studies/{study}/series/{serie}/metadata"]
    for sop in series.sop_uids:
        paths.append(f"/dicom-web/studies/{study}/series/{serie}/instances/"
                     f"{sop}/frames/1")
    for instance in ids:
        paths.append(f"/instances/{instance}/preview")
    for path in paths:
        r = requests.get(orthanc_url + path, timeout=600)
        assert r.status_code == 200, (path, r.status_code)
    return paths


def wait_stable(orthanc_url, instance):
    """Until Orthanc marked the series, study and patient of INSTANCE
    stable (StableAge): those changes renew the cache's tokens, and must not
    fall into a measurement."""
    series = requests.get(f"{orthanc_url}/instances/{instance}/series").json()
    study = requests.get(f"{orthanc_url}/series/{series['ID']}/study").json()
    checks = [f"/series/{series['ID']}", f"/studies/{study['ID']}",
              f"/patients/{study['ParentPatient']}"]
    harness.wait_until(lambda: all(requests.get(orthanc_url + c).json()["IsStable"]
                                   for c in checks), 120, interval=0.5,
                       what="the series to be stable")


def settle(base):
    """A fresh Apache's children and their connections to Orthanc, started
    by a few requests no cache keeps."""
    with requests.Session() as session:
        for _ in range(20):
            session.get(base + "/system")


def one_pass(base, paths, connections, server=None):
    """Every path once, CONNECTIONS clients: (req/s, latencies in s,
    CPU seconds of SERVER's processes per request)."""
    work = queue.Queue()
    for path in paths:
        work.put(path)
    latencies, failures = [], []
    lock = threading.Lock()

    def client():
        with requests.Session() as session:
            session.headers.update(HEADERS)
            while True:
                try:
                    path = work.get_nowait()
                except queue.Empty:
                    return
                start = time.monotonic()
                r = session.get(base + path, timeout=600)
                elapsed = time.monotonic() - start
                with lock:
                    latencies.append(elapsed)
                    if r.status_code != 200:
                        failures.append((path, r.status_code))

    cpu_before = cpu_seconds(server.pids()) if server else 0
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for future in [pool.submit(client) for _ in range(connections)]:
            future.result()
    wall = time.monotonic() - start
    cpu = (cpu_seconds(server.pids()) - cpu_before) / len(paths) if server else 0
    assert not failures, failures[:5]
    return len(paths) / wall, latencies, cpu


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def parse_duration(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[unit]


def run_wrk(base, prefix, paths_file, workdir, connections, seconds):
    script = os.path.join(workdir, "viewer.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT.format(paths=paths_file, prefix=prefix,
                                  accept=HEADERS["Accept"],
                                  encoding=HEADERS["Accept-Encoding"]))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "--timeout", "60s", "-s", script, base],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = parse_duration(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = parse_duration(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50": p50, "p99": p99,
            "non_2xx": int(errors.group(1)) if errors else 0}


def staleness(base, orthanc, label):
    """Stale answers 1 s after two changes made straight on Orthanc."""
    description = ct_series.new_series(3, rows=64, columns=64, label=label)
    ids = [orthanc.upload(ct_series.instance_bytes(description, i))["ID"]
           for i in range(2)]
    preview = f"{base}/instances/{ids[0]}/preview"
    metadata = (f"{base}/dicom-web/studies/{description.study_uid}/series/"
                f"{description.series_uid}/metadata")
    def sops(answer):
        return {item["00080018"]["Value"][0] for item in answer.json()}

    with requests.Session() as session:
        session.headers.update(HEADERS)
        for _ in range(3):
            assert session.get(preview).status_code == 200
            assert sops(session.get(metadata)) == set(description.sop_uids[:2])
        requests.delete(f"{orthanc.url}/instances/{ids[0]}").raise_for_status()
        orthanc.upload(ct_series.instance_bytes(description, 2))
        time.sleep(1.0)
        stale_preview = session.get(preview).status_code == 200
        stale_metadata = sops(session.get(metadata)) \
            != set(description.sop_uids[1:])
    series_id = requests.get(f"{orthanc.url}/instances/{ids[1]}").json()[
        "ParentSeries"]
    requests.delete(f"{orthanc.url}/series/{series_id}")
    return int(stale_preview) + int(stale_metadata)


def mpm_modules(mpm):
    """harness.BASE_MODULES with the MPM MPM."""
    return [f"mpm_{mpm}"] + [m for m in harness.BASE_MODULES
                             if not m.startswith("mpm_")]


def without_access_log(apache):
    """APACHE (not started) without the harness's access log: nginx writes
    none here either."""
    apache.config = "\n".join(line for line in apache.config.splitlines()
                               if not line.startswith("CustomLog "))
    with open(apache.config_path, "w") as f:
        f.write(apache.config)
    return apache


def cache_apache(workdir, orthanc, name, mpm, socache=True):
    root = tempfile.mkdtemp(prefix="cache-", dir=workdir)
    os.chmod(root, 0o777)
    site = CACHE_SITE.format(root=root, url=orthanc.url,
                             socache=SOCACHE.format(root=root) if socache
                             else "")
    apache = without_access_log(harness.Apache(
        workdir, site, name=name, modules=mpm_modules(mpm),
        extra_modules=CACHE_MODULES)).start()
    harness.wait_until(lambda: "following the changes" in apache.error_log(),
                       30, what="the change follower")
    return apache


def static_apache(workdir, orthanc_url, paths, mpm):
    """An Apache serving Orthanc's answers to PATHS as files; the file
    holding the wrk paths for it."""
    apache = without_access_log(harness.Apache(workdir, STATIC_SITE,
                                               name="static",
                                               modules=mpm_modules(mpm)))
    directory = os.path.join(apache.docroot, "answers")
    os.makedirs(directory)
    os.chmod(directory, 0o755)
    static_paths = []
    with requests.Session() as session:
        session.headers.update(HEADERS)
        for i, path in enumerate(paths):
            name = os.path.join(directory, str(i))
            with open(name, "wb") as f:
                f.write(session.get(orthanc_url + path, timeout=600).content)
            os.chmod(name, 0o644)
            static_paths.append(f"/answers/{i}")
    paths_file = os.path.join(workdir, "static-paths.txt")
    with open(paths_file, "w") as f:
        f.write("\n".join(static_paths) + "\n")
    return apache.start(), paths_file


def profile(apache, paths_file, workdir, connections, seconds):
    """perf record on APACHE's children during SECONDS of wrk: the shares
    by library and the functions that cost most."""
    data = os.path.join(workdir, "perf.data")
    pids = ",".join(str(p) for p in apache.child_pids())
    perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", data,
                             "-p", pids], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    rate = run_wrk(apache.url, "/orthanc", paths_file, workdir, connections,
                   seconds)["rate"]
    perf.send_signal(signal.SIGINT)
    perf.wait(timeout=120)

    def table(sort, limit):
        out = subprocess.run(["perf", "report", "-i", data, "--no-children",
                              "--sort", sort, "-g", "none", "--stdio"],
                             capture_output=True, text=True).stdout
        rows = []
        for line in out.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+(.*\S)", line)
            if m:
                rows.append((float(m.group(1)), m.group(2)))
        return rows[:limit]
    return {"rate": rate, "dso": table("dso", 14),
            "sym": table("dso,sym", 30)}


def run_targets(targets, rounds, workdir, connections, seconds, results):
    """wrk against each of TARGETS ((name, base, prefix, paths file)),
    ROUNDS times, the order reversed every other round."""
    for round_ in range(rounds):
        order = targets if round_ % 2 == 0 else list(reversed(targets))
        for name, base, prefix, paths_file in order:
            figures = run_wrk(base, prefix, paths_file, workdir, connections,
                              seconds)
            results.setdefault(name, []).append(figures)
            print(f"wrk round {round_ + 1}, {name}: {figures}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wrk-rounds", type=int, default=5)
    parser.add_argument("--mpm", default="worker",
                        help="the MPM of the Apache targets (worker)")
    parser.add_argument("--perf", type=int, default=0,
                        help="profile the warm cache for this many seconds")
    parser.add_argument("--json")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="orthanc-proxy-viewer-")
    os.chmod(workdir, 0o755)
    load_before = os.getloadavg()
    servers = []
    results = {"one_pass": {"module": [], "cache-cold": []}, "wrk": {},
               "stale": {}, "profile": None}
    try:
        orthanc = harness.Orthanc(workdir).start()
        servers.append(orthanc)
        print(f"writing and storing {args.slices} slices of "
              f"{args.size}x{args.size} ...", flush=True)
        series = ct_series.new_series(args.slices, args.size, args.size,
                                      label="VIEWER")
        ids = ct_series.upload_series(orthanc.url, series)
        wait_stable(orthanc.url, ids[0])
        paths = workload(orthanc.url, series, ids)
        paths_file = os.path.join(workdir, "paths.txt")
        with open(paths_file, "w") as f:
            f.write("\n".join(paths) + "\n")

        module = without_access_log(harness.Apache(
            workdir, MODULE_SITE.format(url=orthanc.url), name="module",
            modules=mpm_modules(args.mpm))).start()
        servers.append(module)
        settle(module.url + "/orthanc")
        nginx = Nginx(workdir, orthanc.http_port).start()
        servers.append(nginx)
        nginx_plain = Nginx(workdir, orthanc.http_port, sendfile=False).start()
        servers.append(nginx_plain)
        static, static_paths = static_apache(workdir, orthanc.url, paths,
                                             args.mpm)
        servers.append(static)
        # Orthanc's own caches (parsed files) warm for every target alike.
        one_pass(orthanc.url, paths, args.connections)

        for round_ in range(args.rounds):
            rate, lat, cpu = one_pass(module.url + "/orthanc", paths,
                                      args.connections, module)
            results["one_pass"]["module"].append((rate, percentile(lat, 0.5),
                                                  percentile(lat, 0.99), cpu))
            cold = cache_apache(workdir, orthanc, f"cold{round_}", args.mpm)
            servers.append(cold)
            settle(cold.url + "/orthanc")
            rate, lat, cpu = one_pass(cold.url + "/orthanc", paths,
                                      args.connections, cold)
            results["one_pass"]["cache-cold"].append((rate, percentile(lat, 0.5),
                                                      percentile(lat, 0.99), cpu))
            if round_ < args.rounds - 1:
                cold.stop()
                servers.remove(cold)
            print(f"one pass, round {round_ + 1}: module "
                  f"{results['one_pass']['module'][-1][0]:.1f} req/s, "
                  f"cache-cold {results['one_pass']['cache-cold'][-1][0]:.1f}"
                  f" req/s", flush=True)
        warm = cold
        warm_event = cache_apache(workdir, orthanc, "warm-event", "event")
        servers.append(warm_event)
        warm_disk = cache_apache(workdir, orthanc, "warm-disk", args.mpm,
                                 socache=False)
        servers.append(warm_disk)
        for target in (nginx, nginx_plain, warm_event, warm_disk):
            one_pass(target.url + "/orthanc", paths, args.connections)

        run_targets([("direct", orthanc.url, "", paths_file),
                     ("module", module.url, "/orthanc", paths_file)],
                    1, workdir, args.connections, args.seconds, results["wrk"])
        run_targets([("cache-warm", warm.url, "/orthanc", paths_file),
                     ("cache-warm-event", warm_event.url, "/orthanc",
                      paths_file),
                     ("cache-warm-disk", warm_disk.url, "/orthanc",
                      paths_file),
                     ("nginx", nginx.url, "/orthanc", paths_file),
                     ("nginx-nosendfile", nginx_plain.url, "/orthanc",
                      paths_file),
                     ("static", static.url, "", static_paths)],
                    args.wrk_rounds, workdir, args.connections, args.seconds,
                    results["wrk"])
        if args.perf:
            results["profile"] = profile(warm, paths_file, workdir,
                                         args.connections, args.perf)

        for name, base in (("direct", orthanc.url),
                           ("module", module.url + "/orthanc"),
                           ("cache", warm.url + "/orthanc"),
                           ("nginx", nginx.url + "/orthanc"),
                           ("nginx-nosendfile", nginx_plain.url + "/orthanc")):
            results["stale"][name] = staleness(base, orthanc, f"STALE{name}")
    finally:
        for server in reversed(servers):
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    report(args, results, load_before)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def report(args, results, load_before):
    wrk, stale, passes = results["wrk"], results["stale"], results["one_pass"]
    direct = median_of(wrk["direct"], "rate")
    print(f"\n### Viewer workload {datetime.datetime.now().isoformat(timespec='seconds')} "
          f"on {platform.node()} ({os.cpu_count()} CPUs, load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)})\n")
    print(f"{args.slices} slices of {args.size}x{args.size}: "
          f"{2 + 2 * args.slices} requests per pass (QIDO study list, series "
          f"metadata, {args.slices} frames, {args.slices} previews), "
          f"{args.connections} clients; Apache's {args.mpm} MPM; wrk "
          f"{args.seconds} s per target and "
          f"round, {args.wrk_rounds} rounds for the fast targets (medians, "
          f"min-max).\n")
    print("| target | req/s | x direct | p50 ms | p99 ms | stale answers 1 s after 2 changes |")
    print("|---|---|---|---|---|---|")
    rows = [("direct Orthanc", "direct", "direct"),
            ("module, no cache", "module", "module"),
            ("module, cache warm", "cache-warm", "cache"),
            ("module, cache warm, event MPM", "cache-warm-event", None),
            ("module, cache warm, every answer on disk", "cache-warm-disk",
             None),
            ("nginx proxy_cache (valid 10m), sendfile on", "nginx", "nginx"),
            ("nginx proxy_cache (valid 10m), sendfile off",
             "nginx-nosendfile", "nginx-nosendfile"),
            ("Apache, the same answers as static files", "static", None)]
    for title, name, stale_name in rows:
        runs = wrk[name]
        rate = median_of(runs, "rate")
        spread = (f" ({min(r['rate'] for r in runs):.0f}-"
                  f"{max(r['rate'] for r in runs):.0f})" if len(runs) > 1
                  else "")
        stale_text = (f"{stale[stale_name]} of 2" if stale_name is not None
                      else "-")
        print(f"| {title} | {rate:.0f}{spread} | {rate / direct:.1f} "
              f"| {ms(median_of(runs, 'p50'))} | {ms(median_of(runs, 'p99'))} "
              f"| {stale_text} |")
    for other in ("nginx", "nginx-nosendfile", "static", "cache-warm-event",
                  "cache-warm-disk"):
        ratios = [c["rate"] / o["rate"] for c, o in zip(wrk["cache-warm"],
                                                         wrk[other])]
        print(f"\ncache-warm / {other}, round by round: "
              f"{', '.join(f'{r:.2f}' for r in ratios)} "
              f"(median {statistics.median(ratios):.2f})", end="")
    print()
    module = [p[0] for p in passes["module"]]
    cold = [p[0] for p in passes["cache-cold"]]
    ratios = [c / m for c, m in zip(cold, module)]
    print(f"\nOne pass over the workload (every request once, {args.connections} "
          f"clients), {len(module)} rounds, median (min-max):\n")
    print("| target | req/s | p50 ms | p99 ms | Apache CPU ms per request |")
    print("|---|---|---|---|---|")
    for name in ("module", "cache-cold"):
        runs = passes[name]
        print(f"| {name} | {statistics.median(r[0] for r in runs):.1f} "
              f"({min(r[0] for r in runs):.1f}-{max(r[0] for r in runs):.1f}) "
              f"| {ms(statistics.median(r[1] for r in runs))} "
              f"| {ms(statistics.median(r[2] for r in runs))} "
              f"| {ms(statistics.median(r[3] for r in runs))} |")
    cpu_ratios = [c[3] / m[3] for c, m in zip(passes["cache-cold"], passes["module"])
                  if m[3] > 0]
    print(f"\ncache-cold / module, req/s round by round: "
          f"{', '.join(f'{r:.3f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.3f}); time per pass: "
          f"{statistics.median(1 / r for r in ratios):.3f} times the module's")
    if cpu_ratios:
        print(f"cache-cold / module, Apache CPU per request: "
              f"{', '.join(f'{r:.2f}' for r in cpu_ratios)} "
              f"(median {statistics.median(cpu_ratios):.2f})")
    bad = {name: sum(f["non_2xx"] for f in runs)
           for name, runs in wrk.items() if any(f["non_2xx"] for f in runs)}
    if bad:
        print(f"non-2xx answers: {bad}")
    prof = results.get("profile")
    if prof:
        print(f"\nWhere the warm cache's time goes (perf record -g on Apache's "
              f"children, {args.perf} s of wrk at {prof['rate']:.0f} req/s; "
              f"samples by library, then by function):\n")
        print("| share | library |\n|---|---|")
        for share, name in prof["dso"]:
            print(f"| {share:.1f} % | {name} |")
        print("\n| share | library, function |\n|---|---|")
        for share, name in prof["sym"]:
            print(f"| {share:.2f} % | {' '.join(name.split())} |")


if __name__ == "__main__":
    main()
