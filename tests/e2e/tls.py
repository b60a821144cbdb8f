# SPDX-License-Identifier: Apache-2.0
"""Certificates and TLS servers for the transport tests.

A test CA and the certificates it signs are made with the openssl command
line tool in the test's own directory; nothing is trusted system-wide.
mod_ssl's SSLProxyCheckPeerName matches DNS names, not IP addresses, so
servers are named "localhost" (a subjectAltName) and reached as localhost,
which resolves to 127.0.0.1 here.

Nginx is the TLS terminator in front of Orthanc (Debian's Orthanc 1.10.1
crashes on its first HTTPS request with SslEnabled): a private nginx on a
free 127.0.0.1 port, started in the foreground and stopped by its PID.
"""

import os
import subprocess
from dataclasses import dataclass

from harness import free_port, port_open, read_log, start_process, \
    stop_process, wait_until

NGINX = os.environ.get("OP_NGINX", "/usr/sbin/nginx")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


@dataclass
class Certificate:
    cert: str        # PEM certificate
    key: str         # PEM private key, unencrypted
    bundle: str      # certificate followed by its key (SSLProxyMachineCertificateFile)


class CertificateAuthority:
    """A certificate authority of the test's own, in DIRECTORY."""

    def __init__(self, directory, name="mod_orthanc_proxy test CA"):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.key = os.path.join(directory, f"{_slug(name)}.key")
        self.cert = os.path.join(directory, f"{_slug(name)}.pem")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                 "-subj", f"/CN={name}", "-keyout", self.key,
                 "-out", self.cert,
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=directory)
        os.chmod(self.cert, 0o644)

    def issue(self, name, dns=("localhost",), client=False, days=2):
        """A certificate for NAME signed by this CA: a server certificate
        for the DNS names DNS, or a client certificate (CLIENT=True)."""
        base = os.path.join(self.directory, _slug(name))
        key, csr, cert = base + ".key", base + ".csr", base + ".pem"
        extfile = base + ".ext"
        with open(extfile, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            if client:
                f.write("extendedKeyUsage=clientAuth\n")
            else:
                f.write("extendedKeyUsage=serverAuth\n")
                f.write("subjectAltName=" + ",".join(f"DNS:{d}" for d in dns) + "\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-subj", f"/CN={name}", "-keyout", key, "-out", csr,
                 cwd=self.directory)
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey",
                 self.key, "-CAcreateserial", "-days", str(days),
                 "-extfile", extfile, "-out", cert, cwd=self.directory)
        bundle = base + ".bundle.pem"
        with open(bundle, "w") as out:
            for part in (cert, key):
                with open(part) as f:
                    out.write(f.read())
        # Apache reads them as root before it switches to nobody; nginx's
        # workers never need the key.
        for path in (cert, key, bundle):
            os.chmod(path, 0o600 if path != cert else 0o644)
        return Certificate(cert, key, bundle)


def _slug(name):
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


# What an Apache with a TLS front loads besides harness.BASE_MODULES.
FRONT_MODULES = ["ssl", "http2", "socache_shmcb"]


def front_vhost(tls_port, certificate):
    """Apache configuration: a TLS virtual host for localhost on
    127.0.0.1:TLS_PORT with CERTIFICATE, offering h2 and http/1.1 (ALPN).
    The main server's mappings apply to it."""
    return f"""
Listen 127.0.0.1:{tls_port}
<VirtualHost 127.0.0.1:{tls_port}>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile {certificate.cert}
    SSLCertificateKeyFile {certificate.key}
    Protocols h2 http/1.1
</VirtualHost>
"""


class Nginx:
    """A TLS terminator on https://localhost:PORT/ in front of BACKEND_URL
    (http://127.0.0.1:N), with CERTIFICATE; CLIENT_CA makes it require a
    client certificate signed by that CA (ssl_verify_client on)."""

    def __init__(self, workdir, backend_url, certificate, client_ca=None,
                 name="nginx"):
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_port()
        self.config_path = os.path.join(self.workdir, "nginx.conf")
        self.error_log_path = os.path.join(self.workdir, "error.log")
        self.access_log_path = os.path.join(self.workdir, "access.log")
        self.proc = None
        client = ""
        if client_ca:
            client = (f"ssl_client_certificate {client_ca};\n"
                      "        ssl_verify_client on;")
        with open(self.config_path, "w") as f:
            f.write(f"""
daemon off;
master_process on;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.error_log_path} info;
events {{ worker_connections 256; }}
http {{
    # The client certificate's subject, when one was sent.
    log_format tls '$remote_addr "$request" $status "$ssl_client_s_dn"';
    access_log {self.access_log_path} tls;
    client_body_temp_path {self.workdir}/body;
    proxy_temp_path {self.workdir}/proxy;
    fastcgi_temp_path {self.workdir}/fastcgi;
    uwsgi_temp_path {self.workdir}/uwsgi;
    scgi_temp_path {self.workdir}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name localhost;
        ssl_certificate {certificate.cert};
        ssl_certificate_key {certificate.key};
        {client}
        client_max_body_size 0;
        location / {{
            proxy_pass {backend_url};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
""")

    @property
    def url(self):
        return f"https://localhost:{self.port}"

    def start(self, timeout=30):
        self.proc = start_process([NGINX, "-c", self.config_path, "-p",
                                   self.workdir + "/"],
                                  os.path.join(self.workdir, "stderr.log"),
                                  self.workdir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}; "
                                   f"see {self.error_log_path}")
            return port_open(self.port)
        wait_until(ready, timeout, what="nginx to listen")
        return self

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def access_log(self):
        return read_log(self.access_log_path)
