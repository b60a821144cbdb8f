#!/usr/bin/python3
"""What one proxied request costs Apache, in CPU instructions.

Elapsed time on a shared machine is noise; instructions counted by
valgrind's callgrind are not.  Apache runs as a single process (-X) under
callgrind twice per setup, serving N1 then N2 identical requests; the
difference divided by N2 - N1 is the cost of one request, start-up and
shutdown cancelled out.  Setups: a plain `ProxyPass`, and the module at the
default level (every request canonicalised, classified and checked).

    /usr/bin/python3 bench/instructions.py [--requests N1 N2] [--path /system]
"""

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness  # noqa: E402

SETUPS = {
    "plain ProxyPass": ("ProxyPass /plain/ {url}/\n", "/plain", False),
    "mod_orthanc_proxy": ("OrthancProxy /orthanc/ {url}/\n", "/orthanc", True),
}


def count_instructions(workdir, name, body, prefix, module, path, requests_n):
    # The process keeps its user: callgrind writes the profile it opened.
    apache = harness.Apache(workdir, body, name=f"{name}-{requests_n}",
                            load_module_under_test=module, switch_user=False)
    out = os.path.join(apache.workdir, "callgrind.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         harness.HTTPD, "-X", "-f", apache.config_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=apache.workdir)
    try:
        harness.wait_until(lambda: harness.port_open(apache.port), 300,
                           what="httpd under callgrind")
        with requests.Session() as session:
            for _ in range(requests_n):
                r = session.get(f"{apache.url}{prefix}{path}", timeout=120)
                assert r.status_code == 200, r.status_code
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    totals = []
    for part in glob.glob(out + "*"):
        with open(part) as f:
            m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
            if m:
                totals.append(int(m.group(1)))
    return max(totals)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", nargs=2, type=int, default=[50, 250],
                        metavar=("N1", "N2"))
    parser.add_argument("--path", default="/system")
    args = parser.parse_args()
    n1, n2 = args.requests

    workdir = tempfile.mkdtemp(prefix="orthanc-proxy-instructions-")
    os.chmod(workdir, 0o755)
    orthanc = harness.Orthanc(workdir).start()
    try:
        with open(os.path.join(harness.SAMPLE_DIR, "CT_small.dcm"), "rb") as f:
            orthanc.upload(f.read())
        costs = {}
        for name, (body, prefix, module) in SETUPS.items():
            body = body.format(url=orthanc.url)
            low = count_instructions(workdir, "a", body, prefix, module,
                                     args.path, n1)
            high = count_instructions(workdir, "b", body, prefix, module,
                                      args.path, n2)
            costs[name] = (high - low) / (n2 - n1)
    finally:
        orthanc.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"GET {args.path} through Apache -X under callgrind, "
          f"({n2} - {n1} requests)")
    print("| setup | instructions per request |")
    print("|---|---|")
    for name, cost in costs.items():
        print(f"| {name} | {cost:,.0f} |")
    plain, module = costs["plain ProxyPass"], costs["mod_orthanc_proxy"]
    print(f"\nmodule / plain: {module / plain:.3f} "
          f"(+{module - plain:,.0f} instructions per request)")


if __name__ == "__main__":
    main()
