# SPDX-License-Identifier: Apache-2.0
"""What the benchmarks measure the same way: CPU time of processes from
/proc, and Apache's ab against one URL."""
import os
import re
import subprocess

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_pid(pids):
    """pid -> user + system CPU seconds so far (processes that exited are
    left out)."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def cpu_seconds(pids):
    """User + system CPU seconds so far of PIDS together."""
    return sum(cpu_seconds_by_pid(pids).values())


def ab(url, seconds, concurrency):
    """ab with keep-alive for SECONDS: requests per second, complete,
    failed and non-2xx requests."""
    out = subprocess.run(["ab", "-k", "-q", "-c", str(concurrency), "-t",
                          str(seconds), "-n", "100000000", url],
                         capture_output=True, text=True, timeout=seconds + 120)
    text = out.stdout + out.stderr
    rps = re.search(r"Requests per second:\s+([\d.]+)", text)
    done = re.search(r"Complete requests:\s+(\d+)", text)
    failed = re.search(r"Failed requests:\s+(\d+)", text)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", text)
    if not rps:
        raise RuntimeError(f"ab failed: {text[-2000:]}")
    return {"rps": float(rps.group(1)), "requests": int(done.group(1)),
            "failed": int(failed.group(1)) if failed else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0}
