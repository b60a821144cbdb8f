# SPDX-License-Identifier: Apache-2.0
"""The Orthanc version matrix: Debian's own Orthanc packages of newer releases,
installed into Debian roots and run from there on this machine's loopback.

  bookworm  Orthanc 1.10.1, DICOMweb 1.7, civetweb 1.15   (the machine's own)
  trixie    Orthanc 1.12.7, DICOMweb 1.20, civetweb 1.16
  sid       Orthanc 1.13.0, DICOMweb 1.24, civetweb 1.16  (decode_query_string)

A root is made once with `mmdebstrap --variant=apt` (orthanc,
orthanc-dicomweb, orthanc-postgresql and what they depend on) and cached
beside the package test's root (debian_roots.py).  harness.Orthanc runs
/usr/sbin/Orthanc there when OP_ORTHANC_ROOT names a root: chroot, in a
private mount namespace that sees the machine's temporary directory and
/proc at the same paths.  The root shares the machine's network, so the
tests reach that Orthanc like any other.

Command line (scripts/test.sh): `orthanc_roots.py SUITE` builds the root if
needed and prints its path; `orthanc_roots.py --list` prints the suites.
"""

import os
import sys

from debian_roots import cached_root

MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
PACKAGES = ["orthanc", "orthanc-dicomweb", "orthanc-postgresql"]

# The suites of the matrix besides the machine's own Debian 12, with the
# versions their packages had when this was written (a root is made once:
# delete it from the cache to follow the archive).
SUITES = {
    "trixie": "Orthanc 1.12.7, DICOMweb 1.20, civetweb 1.16",
    "sid": "Orthanc 1.13.0, DICOMweb 1.24, civetweb 1.16",
}


def recipe(suite):
    return repr((suite, MIRROR, PACKAGES, "v1"))


def orthanc_root(suite, log=print):
    """The cached root of SUITE, built first if missing."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    source = f"deb [signed-by={KEYRING}] {MIRROR} {suite} main"
    return cached_root(
        f"{suite}-orthanc", recipe(suite),
        ["--variant=apt", "--include=" + ",".join(PACKAGES),
         # sid's Release file may be past its Valid-Until date here.
         "--aptopt=Acquire::Check-Valid-Until \"false\"",
         suite, None, source],
        log=log)


def main(argv):
    if argv[1:] == ["--list"]:
        print(" ".join(SUITES))
        return 0
    if len(argv) != 2:
        print("usage: orthanc_roots.py SUITE | --list", file=sys.stderr)
        return 2
    print(orthanc_root(argv[1], log=lambda text: print(text, file=sys.stderr)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
