# SPDX-License-Identifier: Apache-2.0
"""A real rsyslog (Debian's rsyslogd, rsyslog-gnutls for TLS) for the audit
trail's tests.

Each Rsyslog runs in the foreground (-n) with its own configuration, work
directory and pid file, listens on free 127.0.0.1 ports (UDP, TCP, a unix
socket in its directory, and with a certificate TCP over TLS, RFC 5425),
never touches /dev/log, and writes every message it receives to
received.log, one line each: the RFC 5424 header fields it parsed and the
message.  FORWARD_TLS (host, port, CA) makes it forward everything over
TLS (RFC 5425) too, as a hospital's local rsyslog forwards to its audit
repository.  It is stopped by its PID.
"""

import os

from harness import free_port, read_log, start_process, stop_process, \
    wait_until

RSYSLOGD = os.environ.get("OP_RSYSLOGD", "/usr/sbin/rsyslogd")

# Fields separated by tabs: what the tests read back.
TEMPLATE = ('template(name="received" type="string" string="'
            '%pri%\\t%protocol-version%\\t%timereported:::date-rfc3339%\\t'
            '%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t'
            '%structured-data%\\t%msg:::drop-last-lf%\\n")')


class Rsyslog:
    def __init__(self, workdir, name="rsyslog", tls_certificate=None,
                 tls_ca=None, forward_tls=None):
        self.workdir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.workdir, "spool"), exist_ok=True)
        self.udp_port = free_port()
        self.tcp_port = free_port()
        self.tls_port = free_port() if tls_certificate else None
        self.socket_path = os.path.join(self.workdir, "log.sock")
        self.received_path = os.path.join(self.workdir, "received.log")
        self.pid_path = os.path.join(self.workdir, "rsyslogd.pid")
        self.config_path = os.path.join(self.workdir, "rsyslog.conf")
        self.log_path = os.path.join(self.workdir, "rsyslogd.out")
        self.proc = None
        tls_global = ""
        tls_input = ""
        if tls_certificate or forward_tls:
            ca = tls_ca or forward_tls[2]
            tls_global = (f'global(defaultNetstreamDriverCAFile="{ca}"'
                          + (f' defaultNetstreamDriverCertFile="{tls_certificate.cert}"'
                             f' defaultNetstreamDriverKeyFile="{tls_certificate.key}"'
                             if tls_certificate else "")
                          + ')')
        if tls_certificate:
            tls_input = f"""
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"
       streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{self.tls_port}")
"""
        else:
            tls_input = f"""
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{self.udp_port}")
module(load="imuxsock" sysSock.use="off")
input(type="imuxsock" socket="{self.socket_path}" useSpecialParser="off"
      parseHostname="on")
"""
        forward = ""
        if forward_tls:
            host, port, _ = forward_tls
            forward = f"""
action(type="omfwd" target="{host}" port="{port}" protocol="tcp"
       tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
       streamDriver="gtls" streamDriverMode="1" streamDriverAuthMode="x509/name"
       streamDriverPermittedPeers="localhost"
       action.resumeRetryCount="-1" queue.type="LinkedList"
       queue.filename="forward" queue.saveOnShutdown="on")
"""
        with open(self.config_path, "w") as f:
            f.write(f"""
global(workDirectory="{self.workdir}/spool" maxMessageSize="256k"
       processInternalMessages="on")
{tls_global}
{tls_input}
{TEMPLATE}
action(type="omfile" file="{self.received_path}" template="received")
{forward}
""")

    def start(self, timeout=30):
        self.proc = start_process([RSYSLOGD, "-n", "-f", self.config_path,
                                   "-i", self.pid_path], self.log_path,
                                  self.workdir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"rsyslogd exited with {self.proc.returncode}: "
                                   + read_log(self.log_path))
            import socket
            port = self.tls_port or self.tcp_port
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_until(ready, timeout, what="rsyslogd to listen")
        return self

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def received(self):
        """The messages so far: dicts of the RFC 5424 fields and msg (the
        UTF-8 BOM removed), in the order rsyslog wrote them."""
        out = []
        for line in read_log(self.received_path).splitlines():
            fields = line.split("\t", 8)
            if len(fields) != 9:
                continue
            keys = ("pri", "version", "time", "hostname", "app", "procid",
                    "msgid", "sd", "msg")
            entry = dict(zip(keys, fields))
            entry["msg"] = entry["msg"].lstrip("\ufeff")
            out.append(entry)
        return out

    def audit_messages(self):
        return [m for m in self.received() if m["msgid"] == "IHE+RFC-3881"]
