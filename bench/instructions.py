#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What one proxied request costs Apache, in CPU instructions.

Elapsed time on a shared machine is noise; instructions counted by
valgrind's callgrind are not.  Apache runs as a single process (-X) under
callgrind twice per setup, serving N1 then N2 identical requests; the
difference divided by N2 - N1 is the cost of one request, start-up and
shutdown cancelled out.  Setups: a plain `ProxyPass`; the module at the
default level (every request canonicalised, classified and checked); the
module with a status page but without mod_slotmem_shm, so nothing is
counted; and the same with mod_slotmem_shm loaded, so that every request is
counted in shared memory.  The last two differ only by the counting.

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

STATUS_PAGE = """
<Location /status>
    SetHandler orthanc-proxy-status
</Location>
"""
# name: (configuration, prefix, load the module, extra modules)
SETUPS = {
    "plain ProxyPass": ("ProxyPass /plain/ {url}/\n", "/plain", False, ()),
    "mod_orthanc_proxy": ("OrthancProxy /orthanc/ {url}/\n", "/orthanc", True,
                          ()),
    "mod_orthanc_proxy + status page, not counting": (
        "OrthancProxy /orthanc/ {url}/\n" + STATUS_PAGE, "/orthanc", True, ()),
    "mod_orthanc_proxy + status page, counting": (
        "OrthancProxy /orthanc/ {url}/\n" + STATUS_PAGE, "/orthanc", True,
        ("slotmem_shm",)),
}
# The audit trail (OrthancProxyAuditLog): the child's record per request;
# the audit program is a process of its own, not counted here (valgrind
# does not follow it), see bench/audit_bench.py.
AUDIT = "mod_orthanc_proxy + audit trail"
SETUPS[AUDIT] = (
    "OrthancProxy /orthanc/ {url}/\nOrthancProxyAuditProgram {program}\n"
    "OrthancProxyAuditLog {json}\n", "/orthanc", True, ())
NOT_COUNTED = "mod_orthanc_proxy + status page, not counting"
COUNTED = "mod_orthanc_proxy + status page, counting"


def count_instructions(workdir, name, setup, path, requests_n, counted=False):
    """Total instructions of an Apache that served REQUESTS_N requests;
    COUNTED: check that its status page counted them all."""
    body, prefix, module, extra = setup
    # The process keeps its user: callgrind writes the profile it opened.
    apache = harness.Apache(workdir, body, name=f"{name}-{requests_n}",
                            load_module_under_test=module, switch_user=False,
                            extra_modules=extra)
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
            if counted:
                check_counted(session, apache, requests_n)
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


def check_counted(session, apache, requests_n):
    """The status page counted every request (it is not itself counted)."""
    def counted():
        status = session.get(apache.url + "/status?json", timeout=120).json()
        return status["mappings"][0]["requests"] == requests_n
    harness.wait_until(counted, 60, what="the status page to count")


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
        for number, (name, setup) in enumerate(SETUPS.items()):
            body, prefix, module, extra = setup
            setup = (body.format(
                url=orthanc.url, json=os.path.join(workdir, f"audit{number}.json"),
                program=os.path.join(os.environ.get("OP_BUILDDIR")
                                     or os.path.join(HERE, ".."), "support",
                                     "orthanc-proxy-audit")),
                prefix, module, extra)
            counted = name == COUNTED
            low = count_instructions(workdir, f"{number}a", setup, args.path,
                                     n1, counted)
            high = count_instructions(workdir, f"{number}b", setup, args.path,
                                      n2, counted)
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
    page, counted = costs[NOT_COUNTED], costs[COUNTED]
    print(f"\nmodule / plain: {module / plain:.3f} "
          f"(+{module - plain:,.0f} instructions per request)")
    print(f"the status page's <Location>, not counting: {page / module:.4f} "
          f"({page - module:+,.0f} instructions per request)")
    print(f"counting, with / without: {counted / page:.4f} "
          f"({counted - page:+,.0f} instructions per request)")
    audit = costs[AUDIT]
    print(f"audit trail, with / without: {audit / module:.4f} "
          f"({audit - module:+,.0f} instructions per request)")


if __name__ == "__main__":
    main()
