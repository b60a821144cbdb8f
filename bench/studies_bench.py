#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What OrthancProxyStudies costs a viewer: the viewer mix of
bench/viewer_bench.py (the QIDO study list, a series' DICOMweb metadata,
every frame, every preview) for a user restricted to some studies, against
an unrestricted user, with OrthancProxyCache off and on.

One private Orthanc holds the viewer's CT series (the allowed study) and a
second, small one of another patient (a study the restricted user may not
see, so that the list is really filtered).  One Apache maps it twice:
/orthanc/ unrestricted, /restricted/ with
    OrthancProxyStudies "all granted" PatientID=STUDIESBENCH-0
(no login: "all granted" matches every request); a second Apache is the
same with OrthancProxyCache on for both prefixes.  Each round makes one
pass over the workload (every request once, C clients) through each of
the four targets, in an order that alternates; the cache's targets are
filled by one pass first.  Printed: requests/s per target (median of the
rounds) and restricted / unrestricted round by round.

Usage: bench/studies_bench.py [--slices N (50)] [--size PIXELS (256)]
       [--connections C (8)] [--rounds R (5)] [--json FILE]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import requests        # noqa: E402
import harness         # noqa: E402
import ct_series       # noqa: E402
import viewer_bench    # noqa: E402

RULE = 'OrthancProxyStudies "all granted" PatientID=STUDIESBENCH-0'

SITE = viewer_bench.APACHE_TUNING + """
OrthancProxy /orthanc/ {url}/ timeout=600
OrthancProxy /restricted/ {url}/ timeout=600
<Location /restricted/>
    """ + RULE + """
</Location>
"""

CACHE_SITE = viewer_bench.APACHE_TUNING + """
CacheQuickHandler Off
CacheRoot "{root}"
CacheEnable disk /orthanc/
CacheEnable disk /restricted/
CacheHeader on
CacheMaxFileSize 100000000
CacheDirLevels 2
CacheDirLength 1
OrthancProxy /orthanc/ {url}/ timeout=600
OrthancProxy /restricted/ {url}/ timeout=600
<Location /orthanc/>
    OrthancProxyCache on
</Location>
<Location /restricted/>
    OrthancProxyCache on
    """ + RULE + """
</Location>
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=50)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="studies-bench-")
    # Apache's children (nobody) write mod_cache_disk's files below it.
    os.chmod(workdir, 0o755)
    started = []
    try:
        orthanc = harness.Orthanc(workdir).start()
        started.append(orthanc)
        series = ct_series.new_series(args.slices, args.size, args.size,
                                      label="STUDIESBENCH")
        ids = ct_series.upload_series(orthanc.url, series)
        other = ct_series.new_series(2, 64, 64, label="OTHERBENCH")
        ct_series.upload_series(orthanc.url, other)
        viewer_bench.wait_stable(orthanc.url, ids[0])
        paths = viewer_bench.workload(orthanc.url, series, ids)

        plain = viewer_bench.without_access_log(harness.Apache(
            workdir, SITE.format(url=orthanc.url), name="plain",
            modules=viewer_bench.mpm_modules("worker"))).start()
        started.append(plain)
        root = tempfile.mkdtemp(prefix="cache-", dir=workdir)
        os.chmod(root, 0o777)
        cached = viewer_bench.without_access_log(harness.Apache(
            workdir, CACHE_SITE.format(url=orthanc.url, root=root),
            name="cached", modules=viewer_bench.mpm_modules("worker"),
            extra_modules=viewer_bench.CACHE_MODULES)).start()
        started.append(cached)
        harness.wait_until(lambda: "following the changes"
                           in cached.error_log(), 30,
                           what="the change follower")

        # The restricted list really is filtered.
        listed = requests.get(plain.url + "/restricted/dicom-web/studies",
                              timeout=60).json()
        assert [i["0020000D"]["Value"][0] for i in listed] \
            == [series.study_uid], listed

        targets = [("unrestricted", plain, "/orthanc"),
                   ("restricted", plain, "/restricted"),
                   ("unrestricted+cache", cached, "/orthanc"),
                   ("restricted+cache", cached, "/restricted")]
        for _, apache, prefix in targets:
            viewer_bench.settle(apache.url + prefix)
            viewer_bench.one_pass(apache.url + prefix, paths,
                                  args.connections)
        hits = {}
        for name, apache, prefix in targets[2:]:
            r = requests.get(apache.url + prefix + paths[-1],
                             headers=viewer_bench.HEADERS, timeout=60)
            hits[name] = r.headers.get("X-Cache", "-")
        print("a preview, once warm:", hits, flush=True)
        results = {}
        for round_ in range(args.rounds):
            order = targets if round_ % 2 == 0 else list(reversed(targets))
            for name, apache, prefix in order:
                rate, latencies, cpu = viewer_bench.one_pass(
                    apache.url + prefix, paths, args.connections, apache)
                results.setdefault(name, []).append(
                    {"rate": rate, "cpu_ms": cpu * 1000,
                     "p50_ms": viewer_bench.percentile(latencies, 0.5) * 1000})
                print(f"round {round_ + 1}, {name}: {rate:.0f} req/s",
                      flush=True)

        print(f"\n{len(paths)} requests a pass, {args.connections} clients, "
              f"{args.rounds} rounds; medians")
        print("| target | req/s | p50 ms | Apache CPU ms/request |")
        print("|---|---|---|---|")
        for name, _, _ in targets:
            runs = results[name]
            print(f"| {name} | "
                  f"{statistics.median(r['rate'] for r in runs):.0f} | "
                  f"{statistics.median(r['p50_ms'] for r in runs):.1f} | "
                  f"{statistics.median(r['cpu_ms'] for r in runs):.2f} |")
        for cache in ("", "+cache"):
            ratios = [r["rate"] / u["rate"] for r, u in zip(
                results["restricted" + cache], results["unrestricted" + cache])]
            print(f"restricted/unrestricted{cache}: "
                  f"{statistics.median(ratios):.2f} "
                  f"({min(ratios):.2f}-{max(ratios):.2f})")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        if os.environ.get("OP_BENCH_LOG"):
            print(started[-1].error_log()[-6000:])
        for server in reversed(started):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
