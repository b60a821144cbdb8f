# SPDX-License-Identifier: Apache-2.0
"""A real Orthanc cluster on loopback: PostgreSQL, several Orthancs sharing its
database and one storage directory, and the Apache configuration that puts
them behind one prefix through mod_proxy_balancer.

Used by tests/e2e/test_cluster.py and bench/cluster_bench.py.  Every process
is started on free 127.0.0.1 ports in the caller's directory and stopped by
its PID (harness.stop_process).
"""

import os
import pwd
import shutil
import signal
import subprocess
import time

import requests

import harness

PG_BIN = os.environ.get("OP_PG_BIN", "/usr/lib/postgresql/15/bin")
PG_INDEX_PLUGIN = "/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so"
# What Apache needs besides harness.BASE_MODULES (mod_watchdog, which
# mod_proxy_hcheck runs on, is built into Debian's apache2).
CLUSTER_MODULES = ["slotmem_shm", "proxy_balancer", "lbmethod_byrequests",
                   "proxy_hcheck", "status", "authz_host"]


class PostgreSQL:
    """A private PostgreSQL server: its own data directory and a free port.

    PostgreSQL refuses to run as root: when the tests run as root, the
    server runs as the `postgres` user in a mode-700 directory it owns.
    """

    def __init__(self, workdir, name="postgres"):
        self.dir = os.path.join(workdir, name)
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.port = harness.free_port()
        self.proc = None
        self.user = None
        os.makedirs(self.dir, exist_ok=True)
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        os.chmod(self.dir, 0o700)

    def _run(self, command, **kwargs):
        return subprocess.run(command, user=self.user, cwd=self.dir,
                              capture_output=True, text=True, timeout=120,
                              check=True, **kwargs)

    def start(self, timeout=60):
        if not os.path.exists(self.data):
            self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data,
                       "-U", "postgres", "--auth=trust", "-E", "UTF8",
                       "--no-instructions"])
        with open(self.log_path, "ab") as log:
            # Durability is not what the tests measure: fsync off keeps a
            # shared 2-core machine responsive.
            self.proc = subprocess.Popen(
                [os.path.join(PG_BIN, "postgres"), "-D", self.data,
                 "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "max_connections=100"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                user=self.user, preexec_fn=harness._die_with_parent)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}"
                                   f"; see {self.log_path}")
            return subprocess.run(
                [os.path.join(PG_BIN, "pg_isready"), "-h", "127.0.0.1",
                 "-p", str(self.port)], capture_output=True).returncode == 0
        harness.wait_until(ready, timeout, what="PostgreSQL to accept connections")
        return self

    def create_database(self, name, owner):
        """A role OWNER and a database NAME it owns (Orthanc's plugin creates
        its tables in the schema public, which only the owner may do)."""
        common = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self._run([os.path.join(PG_BIN, "createuser")] + common + [owner])
        self._run([os.path.join(PG_BIN, "createdb")] + common + ["-O", owner, name])

    def stop(self):
        # SIGINT is PostgreSQL's "fast" shutdown.
        harness.stop_process(self.proc, signal.SIGINT)
        self.proc = None


def member_settings(pg, storage_dir, identifier, database="orthanc"):
    """Orthanc's configuration for one member of the cluster."""
    return {
        "StorageDirectory": storage_dir,
        # Each plugin file by name: the folder also holds the storage,
        # ServeFolders and worklist plugins.
        "Plugins": [PG_INDEX_PLUGIN, harness.DICOMWEB_PLUGIN],
        "PostgreSQL": {
            "EnableIndex": True,
            "EnableStorage": False,
            # The default (true) lets only one Orthanc use the database.
            "Lock": False,
            # With one connection (the default of plugins 4.0 to 6.2),
            # Orthanc 1.12.7 deadlocks under this suite's load
            # (docs/cluster.md, "Known problems").
            "IndexConnectionsCount": 4,
            "Host": "127.0.0.1",
            "Port": pg.port,
            "Database": database,
            "Username": "orthanc",
            "Password": "",
        },
        # Jobs live in the memory of the Orthanc that runs them.
        "SaveJobs": False,
        "DatabaseServerIdentifier": identifier,
    }


class Cluster:
    """PostgreSQL and N Orthancs on one database and one storage directory.

    members[0] is the writer (route "writer"), the others readers (routes
    "reader1", "reader2", ...).
    """

    def __init__(self, workdir, members=3, name="cluster"):
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        self.storage_dir = os.path.join(self.workdir, "storage")
        os.makedirs(self.storage_dir, exist_ok=True)
        self.pg = PostgreSQL(self.workdir)
        self.routes = ["writer"] + [f"reader{i}" for i in range(1, members)]
        self.orthancs = [
            harness.Orthanc(self.workdir, name=route, settings=member_settings(
                self.pg, self.storage_dir, route))
            for route in self.routes]

    def start(self):
        self.pg.start()
        self.pg.create_database("orthanc", "orthanc")
        # The first member creates the schema; the others find it.
        for orthanc in self.orthancs:
            orthanc.start()
        return self

    def stop(self):
        for orthanc in self.orthancs:
            orthanc.stop()
        self.pg.stop()
        shutil.rmtree(self.storage_dir, ignore_errors=True)

    @property
    def writer(self):
        return self.orthancs[0]

    @property
    def readers(self):
        return self.orthancs[1:]

    def by_route(self, route):
        return self.orthancs[self.routes.index(route)]

    def balancer_section(self, name="pacs", member_params="", writer_params="lbset=1",
                         hcheck=True, hcinterval=1):
        """<Proxy balancer://NAME> with every member: the writer in lbset 1
        (reads prefer the readers and fall back to it), each with its route
        and a health check on a route that needs the database."""
        check = (f" hcmethod=GET hcuri=/changes?last hcinterval={hcinterval}"
                 if hcheck else "")
        lines = [f"<Proxy balancer://{name}>"]
        for route, orthanc in zip(self.routes, self.orthancs):
            extra = writer_params if route == "writer" else ""
            lines.append(f"    BalancerMember {orthanc.url}/ route={route}"
                         f" {extra} {member_params}{check}".rstrip())
        lines.append("</Proxy>")
        return "\n".join(lines)


def manager_section(path="/balancer-manager"):
    return f"""
<Location {path}>
    SetHandler balancer-manager
    Require ip 127.0.0.1
</Location>
"""


def manager_members(apache_url, balancer="pacs", path="/balancer-manager"):
    """The members as balancer-manager shows them: {url: status text}, and
    the nonce its forms need."""
    import re
    page = requests.get(apache_url + path, timeout=10).text
    nonce = re.search(r"nonce=([0-9a-f-]+)", page).group(1)
    members = {}
    for row in re.findall(r"<tr>\s*<td><a href=[^>]*>([^<]+)</a></td>(.*?)</tr>",
                          page, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row[1], re.S)
        members[row[0]] = cells
    return nonce, members


def set_member_status(apache_url, member_url, nonce, balancer="pacs",
                      path="/balancer-manager", **flags):
    """POSTs to balancer-manager the way its form does: FLAGS such as
    drain=1, disabled=0 (w_status_N, w_status_D ...)."""
    names = {"drain": "w_status_N", "disabled": "w_status_D",
             "stopped": "w_status_S", "ignore_errors": "w_status_I",
             "standby": "w_status_H"}
    data = {"b": balancer, "w": member_url, "nonce": nonce}
    for flag, value in flags.items():
        data[names[flag]] = str(value)
    r = requests.post(apache_url + path, data=data,
                      headers={"Referer": apache_url + path}, timeout=10)
    r.raise_for_status()
    return r


def wait_member_serves(url, timeout=60):
    """Seconds until URL answers 200 again."""
    start = time.monotonic()

    def serves():
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False
    harness.wait_until(serves, timeout, interval=0.02, what=f"{url} to serve")
    return time.monotonic() - start
