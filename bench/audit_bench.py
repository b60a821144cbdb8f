#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What the audit trail costs an image viewer: auditing on against off.

The viewer workload of bench/viewer_bench.py (a CT series of SLICES slices
of SIZE x SIZE in a private Orthanc: the QIDO study list, the series'
DICOMweb metadata, every frame, every preview), asked by wrk with C
connections for S seconds, against two Apaches that differ by the audit
trail only:
  off   OrthancProxy /orthanc/ ...
  on    the same, plus OrthancProxyAuditLog (a file) and
        OrthancProxyAuditSyslog udp:// to a real rsyslog (tests/e2e/rsyslog.py)
in two mixes: "no cache" (Apache forwards every request to Orthanc) and
"cache warm" (OrthancProxyCache on: Apache answers from mod_cache, so that
Apache's own work, and the audit's share of it, is all there is).

Rounds alternate off and on.  For each: requests served, Apache's CPU time
(every process of it, from /proc), the audit program's CPU time, and what
the program asked Orthanc (its status file: resolutions).  Reported: CPU per
request, the ratio on/off for Apache alone and for Apache + the program,
as medians (min-max) over the rounds.

Usage: bench/audit_bench.py [--slices N] [--size PIXELS] [--connections C]
       [--seconds S] [--rounds R] [--json FILE] [--keep]
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import harness          # noqa: E402
import ct_series        # noqa: E402
import viewer_bench     # noqa: E402
from measure import cpu_seconds  # noqa: E402
from rsyslog import Rsyslog      # noqa: E402

PROGRAM = os.path.join(os.environ.get("OP_BUILDDIR") or ROOT, "support",
                       "orthanc-proxy-audit")

NO_CACHE = "OrthancProxy /orthanc/ {url}/ timeout=600\n"
AUDIT = """
OrthancProxyAuditProgram "{program}"
OrthancProxyAuditLog "{json}"
OrthancProxyAuditSyslog udp://127.0.0.1:{port}
"""


def program_pids(apache):
    """The audit programs APACHE's parent started."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if PROGRAM.encode() not in f.read():
                        continue
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == apache.proc.pid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def program_status(apache):
    for name in os.listdir(apache.workdir):
        if name.startswith("orthanc_proxy_audit.") and name.endswith(".status"):
            with open(os.path.join(apache.workdir, name)) as f:
                return dict(line.split(" ", 1) for line in f.read().splitlines()
                            if " " in line)
    return {}


def wrk(base, paths_file, workdir, connections, seconds):
    script = os.path.join(workdir, "viewer.lua")
    with open(script, "w") as f:
        f.write(viewer_bench.WRK_SCRIPT.format(
            paths=paths_file, prefix="/orthanc",
            accept=viewer_bench.HEADERS["Accept"],
            encoding=viewer_bench.HEADERS["Accept-Encoding"]))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "60s", "-s", script, base],
                         capture_output=True, text=True, check=True).stdout
    done = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return done, int(errors.group(1)) if errors else 0


def measure(apache, paths_file, workdir, args):
    pids = apache.pids()
    audit = program_pids(apache)
    before = cpu_seconds(pids), cpu_seconds(audit)
    status_before = program_status(apache)
    done, bad = wrk(apache.url, paths_file, workdir, args.connections,
                    args.seconds)
    after = cpu_seconds(pids), cpu_seconds(audit)
    status_after = program_status(apache)
    resolved = int(status_after.get("resolved", 0)) \
        - int(status_before.get("resolved", 0))
    return {"requests": done, "non_2xx": bad,
            "apache_cpu_us": (after[0] - before[0]) / done * 1e6,
            "program_cpu_us": (after[1] - before[1]) / done * 1e6,
            "resolutions": resolved}


def spread(values):
    return (f"{statistics.median(values):.3f} "
            f"({min(values):.3f}-{max(values):.3f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=50)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="orthanc-proxy-audit-bench-")
    os.chmod(workdir, 0o755)
    servers = []
    results = {}
    load_before = os.getloadavg()
    try:
        orthanc = harness.Orthanc(workdir).start()
        servers.append(orthanc)
        series = ct_series.new_series(args.slices, args.size, args.size,
                                      label="AUDIT")
        ids = ct_series.upload_series(orthanc.url, series)
        viewer_bench.wait_stable(orthanc.url, ids[0])
        paths = viewer_bench.workload(orthanc.url, series, ids)
        paths_file = os.path.join(workdir, "paths.txt")
        with open(paths_file, "w") as f:
            f.write("\n".join(paths) + "\n")
        syslog = Rsyslog(workdir).start()
        servers.append(syslog)

        for mix in ("no cache", "cache warm"):
            apaches = {}
            for name in ("off", "on"):
                body = NO_CACHE.format(url=orthanc.url)
                if mix == "cache warm":
                    root = tempfile.mkdtemp(prefix="cache-", dir=workdir)
                    os.chmod(root, 0o777)
                    body = viewer_bench.CACHE_SITE.format(root=root,
                                                          url=orthanc.url)
                if name == "on":
                    body += AUDIT.format(
                        program=PROGRAM, port=syslog.udp_port,
                        json=os.path.join(workdir, f"audit-{mix[:2]}.json"))
                extra = viewer_bench.CACHE_MODULES if mix == "cache warm" else []
                apache = harness.Apache(workdir, body, name=f"{mix[:2]}-{name}",
                                        extra_modules=extra).start()
                servers.append(apache)
                viewer_bench.settle(apache.url + "/orthanc")
                viewer_bench.one_pass(apache.url + "/orthanc", paths,
                                      args.connections)
                apaches[name] = apache
            rounds = {"off": [], "on": []}
            for i in range(args.rounds):
                order = ("off", "on") if i % 2 == 0 else ("on", "off")
                for name in order:
                    m = measure(apaches[name], paths_file, workdir, args)
                    rounds[name].append(m)
                    print(f"{mix}, audit {name}: {m}", flush=True)
            results[mix] = rounds
            for apache in apaches.values():
                apache.stop()
    finally:
        for server in reversed(servers):
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{platform.node()}, load average before {load_before[0]:.1f}, "
          f"after {os.getloadavg()[0]:.1f}; {args.slices} slices of "
          f"{args.size}x{args.size}, wrk -c{args.connections} "
          f"{args.seconds} s x {args.rounds} rounds per target\n")
    print("| mix | audit | req/round | Apache CPU us/req | program CPU us/req "
          "| resolutions/round |")
    print("|---|---|---|---|---|---|")
    for mix, rounds in results.items():
        for name in ("off", "on"):
            r = rounds[name]
            print(f"| {mix} | {name} | {statistics.median(m['requests'] for m in r):.0f} "
                  f"| {spread([m['apache_cpu_us'] for m in r])} "
                  f"| {spread([m['program_cpu_us'] for m in r])} "
                  f"| {statistics.median(m['resolutions'] for m in r):.0f} |")
    print()
    for mix, rounds in results.items():
        apache = [on["apache_cpu_us"] / off["apache_cpu_us"]
                  for on, off in zip(rounds["on"], rounds["off"])]
        total = [(on["apache_cpu_us"] + on["program_cpu_us"]) / off["apache_cpu_us"]
                 for on, off in zip(rounds["on"], rounds["off"])]
        print(f"{mix}: Apache CPU per request on/off {spread(apache)}; "
              f"Apache + audit program / Apache off {spread(total)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
