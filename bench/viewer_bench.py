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
  cache-cold   Apache with OrthancProxyCache on (mod_cache_disk), empty
  cache-warm   the same, once it holds the workload
  nginx        nginx proxy_cache as an administrator sets it for Orthanc,
               which sends no Cache-Control: proxy_cache_valid 200 10m

Measured:
  - one pass over the workload (every request once, C clients, a Python
    driver), module against cache-cold, round after round, each cold round
    on a fresh Apache (new tokens: an empty cache);
  - wrk -c C for S seconds against direct, module, cache-warm and nginx
    (the last two after one pass to fill them): requests/s, p50 and p99;
  - staleness: on a separate small series, cache a preview and the series'
    metadata through the target, then delete the instance and add another
    straight on Orthanc; after 1 s, is the deleted preview still served,
    does the metadata still miss the new instance?

Usage: bench/viewer_bench.py [--slices N] [--size PIXELS] [--connections C]
       [--seconds S] [--rounds R (5)] [--json FILE] [--keep]
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

CACHE_MODULES = ["cache", "cache_disk", "cache_socache", "socache_shmcb"]
# Every client of the benchmark sends these (Orthanc and the cache key
# negotiate on them), like a browser's fetch().
HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

MODULE_SITE = "OrthancProxy /orthanc/ {url}/ timeout=600\n"
CACHE_SITE = """
CacheQuickHandler Off
CacheRoot "{root}"
CacheEnable disk /orthanc/
CacheMaxFileSize 100000000
CacheDirLevels 2
CacheDirLength 1
OrthancProxy /orthanc/ {url}/ timeout=600
<Location /orthanc/>
    OrthancProxyCache on
</Location>
"""

NGINX_CONF = """
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
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
    def __init__(self, workdir, orthanc_port):
        self.prefix = os.path.join(workdir, "nginx")
        for sub in ("cache", "client_body", "proxy_temp", "fastcgi", "uwsgi",
                    "scgi"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
            os.chmod(os.path.join(self.prefix, sub), 0o777)
        self.port = harness.free_port()
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(prefix=self.prefix, port=self.port,
                                      orthanc_port=orthanc_port))
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


def cache_apache(workdir, orthanc, name):
    root = tempfile.mkdtemp(prefix="cache-", dir=workdir)
    os.chmod(root, 0o777)
    apache = harness.Apache(workdir, CACHE_SITE.format(root=root, url=orthanc.url),
                            name=name, extra_modules=CACHE_MODULES).start()
    harness.wait_until(lambda: "following the changes" in apache.error_log(),
                       30, what="the change follower")
    return apache


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="orthanc-proxy-viewer-")
    os.chmod(workdir, 0o755)
    load_before = os.getloadavg()
    servers = []
    results = {"one_pass": {"module": [], "cache-cold": []}, "wrk": {},
               "stale": {}}
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

        module = harness.Apache(workdir, MODULE_SITE.format(url=orthanc.url),
                                name="module").start()
        servers.append(module)
        settle(module.url + "/orthanc")
        nginx = Nginx(workdir, orthanc.http_port).start()
        servers.append(nginx)
        # Orthanc's own caches (parsed files) warm for every target alike.
        one_pass(orthanc.url, paths, args.connections)

        for round_ in range(args.rounds):
            rate, lat, cpu = one_pass(module.url + "/orthanc", paths,
                                      args.connections, module)
            results["one_pass"]["module"].append((rate, percentile(lat, 0.5),
                                                  percentile(lat, 0.99), cpu))
            cold = cache_apache(workdir, orthanc, f"cold{round_}")
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
        one_pass(nginx.url + "/orthanc", paths, args.connections)

        for name, base, prefix in (
                ("direct", orthanc.url, ""),
                ("module", module.url, "/orthanc"),
                ("cache-warm", warm.url, "/orthanc"),
                ("nginx", nginx.url, "/orthanc")):
            results["wrk"][name] = run_wrk(base, prefix, paths_file, workdir,
                                           args.connections, args.seconds)
            print(f"{name}: {results['wrk'][name]}", flush=True)

        for name, base in (("direct", orthanc.url),
                           ("module", module.url + "/orthanc"),
                           ("cache", warm.url + "/orthanc"),
                           ("nginx", nginx.url + "/orthanc")):
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


def report(args, results, load_before):
    wrk, stale, passes = results["wrk"], results["stale"], results["one_pass"]
    direct = wrk["direct"]["rate"]
    print(f"\n### Viewer workload {datetime.datetime.now().isoformat(timespec='seconds')} "
          f"on {platform.node()} ({os.cpu_count()} CPUs, load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)})\n")
    print(f"{args.slices} slices of {args.size}x{args.size}: "
          f"{2 + 2 * args.slices} requests per pass (QIDO study list, series "
          f"metadata, {args.slices} frames, {args.slices} previews), "
          f"{args.connections} clients; wrk {args.seconds} s per target.\n")
    print("| target | req/s | x direct | p50 ms | p99 ms | stale answers 1 s after 2 changes |")
    print("|---|---|---|---|---|---|")
    rows = [("direct Orthanc", wrk["direct"], stale["direct"]),
            ("module, no cache", wrk["module"], stale["module"]),
            ("module, cache warm", wrk["cache-warm"], stale["cache"]),
            ("nginx proxy_cache (valid 10m)", wrk["nginx"], stale["nginx"])]
    for name, figures, stale_count in rows:
        print(f"| {name} | {figures['rate']:.0f} | {figures['rate'] / direct:.1f} "
              f"| {ms(figures['p50'])} | {ms(figures['p99'])} | {stale_count} of 2 |")
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
          f"(median {statistics.median(ratios):.3f})")
    if cpu_ratios:
        print(f"cache-cold / module, Apache CPU per request: "
              f"{', '.join(f'{r:.2f}' for r in cpu_ratios)} "
              f"(median {statistics.median(cpu_ratios):.2f})")
    print(f"cache-warm / direct: {wrk['cache-warm']['rate'] / direct:.1f}; "
          f"nginx / direct: {wrk['nginx']['rate'] / direct:.1f}")
    bad = {name: f["non_2xx"] for name, f in wrk.items() if f["non_2xx"]}
    if bad:
        print(f"non-2xx answers: {bad}")


if __name__ == "__main__":
    main()
