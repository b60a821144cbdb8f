#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""One Orthanc against three behind mod_orthanc_proxy, on a CPU-heavy viewer
request, in one run.

Started by this script on free 127.0.0.1 ports (tests/e2e/cluster.py) and
stopped by PID at the end: PostgreSQL, three Orthancs on its database and
one storage directory, and one Apache with the module and two mappings:

  one     OrthancProxy /one/ http://MEMBER1/        (a single Orthanc)
  three   OrthancProxy /three/ balancer://bench/    (the three members,
                                                     lbmethod byrequests)

The request is GET /instances/{id}/frames/0/rendered of a 512 x 512 16-bit
CT (CT_small.dcm of pydicom scaled up), which Orthanc decodes, windows and
encodes as PNG on every call: the work a viewer asks of it.  Measured with
`ab -k -c C -t S`, target after target in rounds whose order alternates,
and reported as requests per second, the ratio three/one of each round
(median, min-max), and the CPU time per request of the Orthancs and of
Apache (from /proc/PID/stat), which does not depend on how many cores
there are.

Usage: bench/cluster_bench.py [--rounds N] [--seconds S] [--concurrency C]
"""

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import pydicom                 # noqa: E402
import requests                # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402

import cluster                 # noqa: E402
from measure import ab, cpu_seconds  # noqa: E402
import harness                 # noqa: E402


def ct_512():
    """CT_small.dcm (128 x 128, 16 bits) scaled up to 512 x 512."""
    ds = pydicom.dcmread(os.path.join(harness.SAMPLE_DIR, "CT_small.dcm"))
    raw, side = ds.PixelData, ds.Columns
    rows = []
    for y in range(ds.Rows):
        row = raw[y * side * 2:(y + 1) * side * 2]
        wide = b"".join(row[x:x + 2] * 4 for x in range(0, len(row), 2))
        rows.extend([wide] * 4)
    ds.PixelData = b"".join(rows)
    ds.Rows, ds.Columns = ds.Rows * 4, ds.Columns * 4
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="cluster-bench-")
    os.chmod(workdir, 0o755)
    the_cluster = cluster.Cluster(workdir, members=3)
    apache = None
    try:
        the_cluster.start()
        instance = the_cluster.writer.upload(ct_512())["ID"]
        first = the_cluster.orthancs[0]
        body = the_cluster.balancer_section(name="bench", writer_params="",
                                            hcheck=False) + f"""
OrthancProxy /one/ {first.url}/
OrthancProxy /three/ balancer://bench/
"""
        apache = harness.Apache(workdir, body, name="apache",
                                extra_modules=cluster.CLUSTER_MODULES).start()
        path = f"/instances/{instance}/frames/0/rendered"
        for prefix in ("/one", "/three"):
            r = requests.get(apache.url + prefix + path, timeout=60)
            assert r.status_code == 200 and r.content[:4] == b"\x89PNG", r.status_code
        orthanc_pids = {"one": [first.pid],
                        "three": [o.pid for o in the_cluster.orthancs]}
        results = {"one": [], "three": []}
        print(f"{os.cpu_count()} cores; GET {path} (512 x 512 CT rendered as "
              f"PNG); ab -k -c {args.concurrency} -t {args.seconds}; "
              f"{args.rounds} rounds", flush=True)
        for round_ in range(args.rounds):
            order = ["one", "three"] if round_ % 2 == 0 else ["three", "one"]
            for name in order:
                pids = orthanc_pids[name]
                every_orthanc = [o.pid for o in the_cluster.orthancs]
                before = (cpu_seconds(every_orthanc), cpu_seconds(apache.pids()))
                r = ab(f"{apache.url}/{name}{path}", args.seconds,
                       args.concurrency)
                after = (cpu_seconds(every_orthanc), cpu_seconds(apache.pids()))
                r["orthanc_ms"] = 1000 * (after[0] - before[0]) / max(r["requests"], 1)
                r["apache_ms"] = 1000 * (after[1] - before[1]) / max(r["requests"], 1)
                results[name].append(r)
                print(f"  round {round_ + 1} {name:5} {r['rps']:7.1f} req/s  "
                      f"failed {r['failed']} non-2xx {r['non2xx']}  CPU per "
                      f"request: Orthanc {r['orthanc_ms']:.1f} ms, Apache "
                      f"{r['apache_ms']:.2f} ms  (members: {len(pids)})",
                      flush=True)
        ratios = [t["rps"] / o["rps"] for o, t in zip(results["one"],
                                                       results["three"])]
        print("\nresults (medians)")
        for name in ("one", "three"):
            runs = results[name]
            print(f"  {name:5} {statistics.median(r['rps'] for r in runs):7.1f} "
                  f"req/s; Orthanc CPU "
                  f"{statistics.median(r['orthanc_ms'] for r in runs):.1f} ms"
                  f"/request, Apache CPU "
                  f"{statistics.median(r['apache_ms'] for r in runs):.2f} ms"
                  f"/request")
        print(f"  three/one: {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) on {os.cpu_count()} "
              f"cores")
        cpu = statistics.median(r["orthanc_ms"] + r["apache_ms"]
                                for r in results["three"])
        print(f"  bound by the cores: {os.cpu_count()} cores / {cpu:.1f} ms of "
              f"CPU per request = {1000 * os.cpu_count() / cpu:.0f} req/s at "
              f"most on this machine")
    finally:
        if apache:
            apache.stop()
        the_cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
