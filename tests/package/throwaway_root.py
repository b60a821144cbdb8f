# SPDX-License-Identifier: Apache-2.0
"""A throwaway Debian 12 system for installing the package into.

Why a root of its own, and why this one
---------------------------------------
The package test installs the .deb, enables it, runs Apache with it and
purges it.  Done on the test machine, that would change the machine's
/etc/apache2, its dpkg database and its running services.  Instead:

- A minimal Debian 12 ("minbase" plus apache2 and what it depends on) is
  made once with mmdebstrap from Debian's archive and cached outside the
  source tree (tests/e2e/debian_roots.py: OP_PACKAGE_ROOT_CACHE, default
  ~/.cache/mod_orthanc_proxy/).
  mmdebstrap runs in unshare mode, so even this build mounts nothing in the
  machine's mount namespace, and it keeps apache2's maintainer scripts from
  starting a server.  It is rebuilt when missing or when the recipe below
  changes (the recipe's hash is in the directory name).
- Each test works on an overlay of it: the cached root is the read-only
  lower layer, what the test changes lands in an upper directory of the
  test's own.  The overlay is mounted in a private mount namespace (unshare)
  that only the test's own commands enter (nsenter), so the machine's mount
  table never holds it and it vanishes with the namespace; there is nothing
  to copy or unmount.  Every command runs inside it with chroot: apt-get,
  dpkg, a2enmod, apache2ctl and apache2 are the root's own, on the root's
  own /etc and dpkg database.  Nothing else is mounted into it (its /dev
  holds the few device nodes made when the cache is built; no /proc is
  needed).
- /usr/sbin/policy-rc.d in the root answers 101, as in every Debian build
  chroot: a maintainer script's invoke-rc.d never starts or restarts a
  server.  The only Apache that runs is the one the test starts and stops
  by its PID.
- chroot keeps the machine's network: the root's Apache listens on a free
  127.0.0.1 port and proxies to an Orthanc the test starts on the machine.

Why not the alternatives: `dpkg --root`/`--instdir` runs the maintainer
scripts without Apache's tools in reach, so a2enmod and apache2ctl would not
be the root's; an overlay over / would start from the machine's own dpkg
database and services, which other work changes meanwhile.  debootstrap
would do as well as mmdebstrap, at about three times the build time.
"""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from debian_roots import cache_dir, cached_root  # noqa: E402

SUITE = "bookworm"
MIRRORS = [
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
]
INCLUDE = ["apache2"]
# Device nodes the root's programs write to (maintainer scripts redirect to
# /dev/null): name, type, major, minor.
DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
           ("urandom", 1, 9), ("tty", 5, 0)]
POLICY_RC_D = "#!/bin/sh\n# A throwaway test root: never start a service.\nexit 101\n"
RECIPE = repr((SUITE, MIRRORS, INCLUDE, DEVICES, POLICY_RC_D, "v1"))

# The environment of every command in the root: none of the machine's.
ROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C",
    "HOME": "/root",
    "DEBIAN_FRONTEND": "noninteractive",
}

# Paths whose contents change with any use of the system, whatever package is
# installed: logs, apt's caches and lists, run-time directories, dpkg's
# backups.  Snapshots skip them.
VOLATILE = ("proc", "sys", "dev", "run", "tmp", "var/tmp", "var/log",
            "var/cache/apt", "var/lib/apt", "var/cache/debconf")
VOLATILE_SUFFIXES = ("-old",)


def _finish(target):
    for name, major, minor in DEVICES:
        node = os.path.join(target, "dev", name)
        if not os.path.exists(node):
            os.mknod(node, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod(node, 0o666)
    policy = os.path.join(target, "usr", "sbin", "policy-rc.d")
    with open(policy, "w") as f:
        f.write(POLICY_RC_D)
    os.chmod(policy, 0o755)


def pristine_root(log=print):
    """The cached root, built first if missing (debian_roots.py)."""
    return cached_root(
        f"{SUITE}-apache2", RECIPE,
        ["--mode=unshare", "--variant=minbase",
         "--include=" + ",".join(INCLUDE), "--format=directory",
         SUITE, None, *MIRRORS],
        finish=_finish, log=log)


def mount_points_under(path):
    """Mount points at or below PATH, in this process's mount namespace."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return found


def processes_inside(path):
    """PIDs of the processes whose root directory is PATH."""
    path = os.path.realpath(path)
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/root") == path:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def walk(top, known=None):
    """{'/relative/path': (type, mode, uid, gid, link target or sha256)} of
    everything below TOP outside VOLATILE.  KNOWN, an earlier walk's
    {path: (size, mtime_ns, sha256)}, spares reading files that did not
    change since."""
    entries = {}
    skip = {os.path.join(top, v) for v in VOLATILE}
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = [d for d in subdirs
                      if os.path.join(directory, d) not in skip]
        for name in subdirs + files:
            if name.endswith(VOLATILE_SUFFIXES):
                continue
            full = os.path.join(directory, name)
            relative = "/" + os.path.relpath(full, top)
            st = os.lstat(full)
            content = ""
            if stat.S_ISLNK(st.st_mode):
                kind, content = "l", os.readlink(full)
            elif stat.S_ISDIR(st.st_mode):
                kind = "d"
            elif stat.S_ISREG(st.st_mode):
                kind = "f"
                seen = (known or {}).get(relative)
                if seen and seen[:2] == [st.st_size, st.st_mtime_ns]:
                    content = seen[2]
                else:
                    content = file_digest(full)
            else:
                kind = "o"
            entries[relative] = (kind, st.st_mode & 0o7777, st.st_uid,
                                 st.st_gid, content, st.st_size,
                                 st.st_mtime_ns)
    return entries


def pristine_manifest(root_path):
    """{path: [size, mtime_ns, sha256]} of the cached root's files, made once
    and kept beside it."""
    manifest_path = root_path + ".files.json"
    with open(os.path.join(cache_dir(), ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(manifest_path):
            files = {path: [entry[5], entry[6], entry[4]]
                     for path, entry in walk(root_path).items()
                     if entry[0] == "f"}
            with open(manifest_path + ".new", "w") as f:
                json.dump(files, f)
            os.rename(manifest_path + ".new", manifest_path)
    with open(manifest_path) as f:
        return json.load(f)


class DebianRoot:
    """The cached root under an overlay of its own: the cached root is the
    read-only lower layer, and everything the test changes lands in an upper
    directory in PARENT.  The overlay is mounted in a private mount namespace
    held by one `sleep` process (started with unshare, stopped by its PID):
    the machine's mount table never sees it, and it disappears with that
    process.  Commands enter that namespace with nsenter and the merged tree
    with chroot."""

    def __init__(self, parent):
        os.chmod(parent, 0o755)
        self.lower = pristine_root()
        self.known = pristine_manifest(self.lower)
        for name in ("upper", "work", "merged"):
            os.makedirs(os.path.join(parent, name))
        self.upper = os.path.join(parent, "upper")
        self.merged = os.path.join(parent, "merged")
        os.chmod(self.upper, 0o755)
        options = (f"lowerdir={self.lower},upperdir={self.upper},"
                   f"workdir={os.path.join(parent, 'work')}")
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--",
             "/bin/sh", "-c",
             f"mount -t overlay overlay -o '{options}' '{self.merged}' "
             "&& echo mounted && exec sleep infinity"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "mounted":
            self.holder.wait(timeout=30)
            raise RuntimeError("could not mount the overlay")
        # The merged tree as the machine's processes reach it: through the
        # holder's view of the file system.
        self.path = f"/proc/{self.holder.pid}/root{self.merged}"

    def host_path(self, *parts):
        """The machine's path of a path in the root ('/etc/x' or 'etc/x')."""
        return os.path.join(self.path, *[p.lstrip("/") for p in parts])

    def read(self, path):
        with open(self.host_path(path)) as f:
            return f.read()

    def write(self, path, text):
        with open(self.host_path(path), "w") as f:
            f.write(text)

    def command(self, *args):
        return ["nsenter", f"--target={self.holder.pid}", "--mount", "--",
                "chroot", self.merged, *args]

    def run(self, *args, check=True, timeout=300):
        """Runs ARGS inside the root; returns (exit status, output)."""
        result = subprocess.run(self.command(*args), env=ROOT_ENV,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited with "
                                 f"{result.returncode} in the root:\n"
                                 f"{result.stdout}")
        return result.returncode, result.stdout

    def popen(self, script, log_path, preexec_fn=None):
        """Starts `sh -c SCRIPT` inside the root, output to LOG_PATH.  nsenter
        and chroot exec what they run: the PID is the script's."""
        with open(log_path, "ab") as log:
            return subprocess.Popen(self.command("/bin/sh", "-c", script),
                                    env=ROOT_ENV, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    preexec_fn=preexec_fn)

    def processes(self):
        """PIDs of the processes running in the root (not the holder)."""
        return processes_inside(self.merged)

    def snapshot(self):
        """Everything in the root outside VOLATILE (see walk)."""
        return {path: entry[:5]
                for path, entry in walk(self.path, self.known).items()}

    def remove(self):
        """Ends the holder, and with it the overlay; deletes the layers."""
        for pid in self.processes():
            os.kill(pid, signal.SIGKILL)
        if self.holder.poll() is None:
            os.kill(self.holder.pid, signal.SIGTERM)
            self.holder.wait(timeout=30)
        parent = os.path.dirname(self.upper)
        mounted = mount_points_under(parent)
        if mounted:
            raise RuntimeError(f"not deleting {parent}: mounted {mounted}")
        shutil.rmtree(parent)


def diff(before, after):
    """(added, removed, changed) paths between two snapshots."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after)
                     if before[p] != after[p])
    return added, removed, changed
