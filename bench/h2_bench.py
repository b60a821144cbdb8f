#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""HTTP/2 against HTTP/1.1: many instances fetched in parallel through the
module, over TLS, measured in one run.

Starts on free 127.0.0.1 ports a private Orthanc (Debian's, no plugin)
holding N distinct generated instances (--instances, --size bytes each)
and an Apache with the module and a TLS virtual host for localhost
(certificate from a CA made for the run) that offers h2 and http/1.1.
Then h2load (Debian's nghttp2-client) fetches /orthanc/instances/{id}/file
for every instance, --requests in all, in rounds whose order alternates:

  h2           one TLS connection, --streams requests in flight (HTTP/2)
  http1.1-1    one TLS connection, one request at a time (HTTP/1.1, no
               pipelining: browsers do not pipeline)
  http1.1-6    six TLS connections, one request at a time each (what a
               browser opens to one host over HTTP/1.1)

It prints requests/s per round and the ratios h2 / http1.1-1 and
h2 / http1.1-6 (median, min-max, computed round by round).  Every process
is stopped by its PID and the temporary directory removed.

    /usr/bin/python3 bench/h2_bench.py [--instances 100] [--size 100000]
        [--requests 2000] [--streams 32] [--rounds 5]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import requests        # noqa: E402
import big_dicom       # noqa: E402
import harness         # noqa: E402
import tls             # noqa: E402

CLIENTS = {
    "h2": lambda streams: ["-c", "1", "-m", str(streams)],
    "http1.1-1": lambda streams: ["--h1", "-c", "1", "-m", "1"],
    "http1.1-6": lambda streams: ["--h1", "-c", "6", "-m", "1"],
}


def h2load(args, urls, requests_count):
    command = ["h2load", "-n", str(requests_count), *args, "-i", urls]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"{command}: {done.stderr}{out}")
    ok = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    if not ok or int(ok.group(1)) != requests_count or int(codes.group(1)) != requests_count:
        raise RuntimeError(f"not every request succeeded:\n{out}")
    protocol = re.search(r"Application protocol: (\S+)", out).group(1)
    rate = float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))
    return rate, protocol


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="orthanc-proxy-h2-bench-")
    os.chmod(workdir, 0o755)
    orthanc = apache = None
    try:
        orthanc = harness.Orthanc(workdir, dicomweb=False).start()
        ids = []
        for i in range(args.instances):
            data, info = big_dicom.make_bytes(args.size, seed=31000 + i)
            r = requests.post(orthanc.url + "/instances", data=data, timeout=60)
            r.raise_for_status()
            ids.append(r.json()["ID"])
        ca = tls.CertificateAuthority(os.path.join(workdir, "pki"))
        tls_port = harness.free_port()
        apache = harness.Apache(
            workdir, tls.front_vhost(tls_port, ca.issue("localhost")) +
            f"OrthancProxy /orthanc/ {orthanc.url}/\n",
            extra_modules=tls.FRONT_MODULES).start()
        urls = os.path.join(workdir, "urls.txt")
        with open(urls, "w") as f:
            for iid in ids:
                f.write(f"https://localhost:{tls_port}/orthanc/instances/{iid}/file\n")

        print(f"{args.instances} instances of about {args.size} bytes, "
              f"{args.requests} requests per measurement, h2 with "
              f"{args.streams} streams; Apache {harness.HTTPD}, module "
              f"{harness.MODULE}")
        h2load(CLIENTS["h2"](args.streams), urls, len(ids))      # warm-up
        rates = {name: [] for name in CLIENTS}
        for round_ in range(args.rounds):
            order = list(CLIENTS) if round_ % 2 == 0 else list(reversed(CLIENTS))
            line = []
            for name in order:
                rate, protocol = h2load(CLIENTS[name](args.streams), urls,
                                        args.requests)
                expected = "h2" if name == "h2" else "http/1.1"
                assert protocol == expected, (name, protocol)
                rates[name].append(rate)
                line.append(f"{name} {rate:.0f}")
            print(f"round {round_ + 1}: " + ", ".join(line) + " req/s")

        print("\nrequests/s, median (min-max):")
        for name, values in rates.items():
            print(f"  {name:10s} {statistics.median(values):8.0f} "
                  f"({min(values):.0f}-{max(values):.0f})")
        for other in ("http1.1-1", "http1.1-6"):
            ratios = [a / b for a, b in zip(rates["h2"], rates[other])]
            print(f"ratio h2 / {other}: {statistics.median(ratios):.2f} "
                  f"({min(ratios):.2f}-{max(ratios):.2f})")
    finally:
        if apache:
            apache.stop()
        if orthanc:
            orthanc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
