# SPDX-License-Identifier: Apache-2.0
"""A private OpenLDAP server (Debian's slapd) for the tests: its own
database in a temporary directory, a free loopback port, and entries
given as LDIF text."""

import os
import subprocess

from harness import free_port, port_open, start_process, stop_process, \
    wait_until

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=hospital,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "secret"

CONFIG = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {workdir}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {workdir}/db
"""


def directory(people, groups):
    """LDIF for a hospital's directory: ou=people with PEOPLE ({uid:
    {attribute: value}}, each person's password their uid) and ou=groups
    with GROUPS ({cn: [uid, ...]}, groupOfNames)."""
    entries = [f"dn: {SUFFIX}\nobjectClass: dcObject\n"
               "objectClass: organization\no: Hospital\ndc: hospital",
               f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\n"
               "ou: people",
               f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\n"
               "ou: groups"]
    for uid, attributes in people.items():
        lines = [f"dn: uid={uid},ou=people,{SUFFIX}",
                 "objectClass: inetOrgPerson", f"uid: {uid}",
                 f"cn: {uid.capitalize()}", f"userPassword: {uid}"]
        attributes = {"sn": uid.capitalize(), **attributes}
        lines += [f"{name}: {value}" for name, value in attributes.items()]
        entries.append("\n".join(lines))
    for cn, members in groups.items():
        lines = [f"dn: cn={cn},ou=groups,{SUFFIX}", "objectClass: groupOfNames",
                 f"cn: {cn}"]
        lines += [f"member: uid={m},ou=people,{SUFFIX}" for m in members]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


class LdapServer:
    def __init__(self, workdir):
        self.workdir = os.path.join(workdir, "slapd")
        os.makedirs(os.path.join(self.workdir, "db"), exist_ok=True)
        self.port = free_port()
        self.config_path = os.path.join(self.workdir, "slapd.conf")
        with open(self.config_path, "w") as f:
            f.write(CONFIG.format(workdir=self.workdir, suffix=SUFFIX,
                                  root_dn=ROOT_DN,
                                  root_password=ROOT_PASSWORD))
        self.proc = None

    @property
    def url(self):
        return f"ldap://127.0.0.1:{self.port}"

    def start(self):
        # -d 0: in the foreground, so that the test owns the process.
        self.proc = start_process([SLAPD, "-f", self.config_path, "-h",
                                   self.url + "/", "-d", "0"],
                                  os.path.join(self.workdir, "slapd.log"),
                                  self.workdir)
        wait_until(lambda: port_open(self.port), what="slapd listening")

    def add(self, ldif):
        subprocess.run(["ldapadd", "-x", "-H", self.url, "-D", ROOT_DN,
                        "-w", ROOT_PASSWORD], input=ldif, text=True,
                       check=True, capture_output=True)

    def stop(self):
        stop_process(self.proc)
