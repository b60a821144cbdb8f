# SPDX-License-Identifier: Apache-2.0
"""The route table knows every route of the installed Orthanc, at the right level.

The installed Orthanc describes its own REST API (`Orthanc --openapi=FILE`).
Without network access it cannot build the samples of some routes; it then
names them in its log ('Exception while documenting METHOD URI', 'Ignoring
URI without API documentation: METHOD URI'), so the routes are the union of
the OpenAPI paths and those log lines.  Plugin routes (DICOMweb, Orthanc
Explorer 2) and those of newer Orthanc releases are not in that dump: they
are listed below from the plugins' sources and Orthanc's REST reference.

Each route goes through the route tool (tests/tools/route_tool, linked with
logic/route_table.c), which prints the level the proxy requires.
"""

import collections
import json
import os
import re
import subprocess

import pytest

from harness import ORTHANC, ORTHANC_ROOT, free_port, orthanc_command, \
    orthanc_version

SRCDIR = os.environ.get("OP_SRCDIR", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
BUILDDIR = os.environ.get("OP_BUILDDIR", SRCDIR)
ROUTE_TOOL = os.environ.get("OP_ROUTE_TOOL",
                            os.path.join(BUILDDIR, "tests", "tools", "route_tool"))

LEVELS = ["read", "upload", "modify", "admin"]

# Sample values for the placeholders of Orthanc's route templates.
SAMPLES = {
    "id": "0a1b2c3d-4e5f6a7b-8c9d0e1f-2a3b4c5d-6e7f8a9b",
    "name": "1024",
    "frame": "0",
    "index": "0",
    "key": "archive",
    "label": "sample-label",
    "path": "0010-0010",
    "study": "1.2.840.113619.2.1",
    "series": "1.2.840.113619.2.1.2",
    "instance": "1.2.840.113619.2.1.2.3",
    "server": "sample-server",
}

# Routes the core registers that the installed 1.10 lacks (Orthanc 1.11 to
# 1.12: labels, count-resources, C-GET, GET flavours of the archive tools ...).
NEWER_CORE_ROUTES = """
GET /patients/{id}/labels
GET /studies/{id}/labels
GET /series/{id}/labels
GET /instances/{id}/labels
GET /patients/{id}/labels/{label}
PUT /studies/{id}/labels/{label}
DELETE /series/{id}/labels/{label}
PUT /instances/{id}/labels/{label}
DELETE /jobs/{id}
DELETE /jobs/{id}/{key}
POST /modalities/{id}/get
GET /tools/accepted-sop-classes
POST /tools/count-resources
GET /tools/create-archive
GET /tools/create-media
GET /tools/create-media-extended
GET /tools/labels
"""

# Routes whose template a newer Orthanc's OpenAPI writes differently
# (1.10.1: GET /instances/{id}/content, the tree below it undocumented).
RENAMED_CORE_ROUTES = """
GET /instances/{id}/content/{path}
"""

# The DICOMweb plugin (default roots /dicom-web/ and /wado), the web UIs.
PLUGIN_AND_UI_ROUTES = """
GET /dicom-web/studies
POST /dicom-web/studies
GET /dicom-web/studies/{study}
POST /dicom-web/studies/{study}
GET /dicom-web/series
GET /dicom-web/instances
GET /dicom-web/studies/{study}/instances
GET /dicom-web/studies/{study}/metadata
GET /dicom-web/studies/{study}/series
GET /dicom-web/studies/{study}/rendered
GET /dicom-web/studies/{study}/thumbnail
GET /dicom-web/studies/{study}/series/{series}
GET /dicom-web/studies/{study}/series/{series}/instances
GET /dicom-web/studies/{study}/series/{series}/metadata
GET /dicom-web/studies/{study}/series/{series}/rendered
GET /dicom-web/studies/{study}/series/{series}/thumbnail
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/bulk/7FE00010
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/metadata
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/frames
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frame}
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/rendered
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/thumbnail
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered
GET /dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/thumbnail
GET /dicom-web/servers
GET /dicom-web/servers/{server}
PUT /dicom-web/servers/{server}
DELETE /dicom-web/servers/{server}
POST /dicom-web/servers/{server}/get
POST /dicom-web/servers/{server}/retrieve
POST /dicom-web/servers/{server}/stow
POST /dicom-web/servers/{server}/wado
POST /dicom-web/servers/{server}/qido
POST /dicom-web/servers/{server}/delete
GET /dicom-web/info
GET /dicom-web/app/client/index.html
GET /dicom-web/app/libs/js/vue.min.js
POST /studies/{id}/update-dicomweb-cache
GET /wado
GET /
GET /favicon.ico
GET /app/explorer.html
GET /app/images/unsupported.png
GET /ui/app
GET /ui/app/index.html
GET /ui/app/assets/index.js
GET /ui/api/configuration
GET /ui/api/pre-login-configuration
"""

# Never reachable below admin (DESIGN.md, "Access levels"; FACTS.md).
DANGEROUS = """
POST /tools/execute-script
POST /tools/shutdown
POST /tools/reset
POST /tools/reconstruct
POST /tools/invalidate-tags
POST /tools/dicom-echo
PUT /tools/log-level
PUT /tools/log-level-http
PUT /tools/default-encoding
PUT /tools/metrics
PUT /tools/accepted-transfer-syntaxes
PUT /tools/unknown-sop-class-accepted
POST /instances/{id}/export
GET /modalities
GET /modalities/{id}/configuration
PUT /modalities/{id}
POST /modalities/{id}/echo
POST /modalities/{id}/store
POST /modalities/{id}/store-straight
POST /modalities/{id}/move
POST /modalities/{id}/get
POST /modalities/{id}/query
POST /modalities/{id}/find-worklist
POST /modalities/{id}/storage-commitment
GET /peers
GET /peers/{id}/system
PUT /peers/{id}
POST /peers/{id}/store
POST /peers/{id}/store-straight
POST /queries/{id}/retrieve
POST /queries/{id}/answers/{index}/retrieve
DELETE /queries/{id}
POST /storage-commitment/{id}/remove
GET /dicom-web/servers
PUT /dicom-web/servers/{server}
POST /dicom-web/servers/{server}/stow
POST /dicom-web/servers/{server}/retrieve
POST /dicom-web/servers/{server}/qido
POST /jobs/{id}/cancel
POST /jobs/{id}/pause
POST /jobs/{id}/resume
POST /jobs/{id}/resubmit
DELETE /changes
DELETE /exports
PROPFIND /webdav/
PUT /webdav/uploads/sample.dcm
"""


def parse_routes(text):
    return [tuple(line.split()) for line in text.strip().splitlines()]


LEVEL_RE = r"(patients|studies|series|instances)"


def expected_level(method, template):
    """The level DESIGN.md asks for, from the route's template."""
    def is_(pattern, *methods):
        return method in methods and re.fullmatch(pattern, template)

    # Server administration, networking, jobs control, the logs.
    if re.match(r"/(modalities|peers|webdav)(/|$)", template) \
            or re.match(r"/dicom-web/servers(/|$)", template):
        return "admin"
    if is_(r"/queries(/.*)?", "POST", "DELETE") \
            or is_(r"/jobs/[^/]+(/.*)?", "POST", "DELETE", "PUT") \
            or is_(r"/(changes|exports)", "DELETE") \
            or is_(r"/(jobs|exports|queries)", "GET") \
            or is_(r"/storage-commitment/[^/]+/remove", "POST") \
            or is_(r"/tools/.*", "PUT", "DELETE") \
            or is_(r"/tools/(execute-script|shutdown|reset|reconstruct|"
                   r"invalidate-tags|dicom-echo)", "POST") \
            or template.endswith("/export"):
        return "admin"
    if method == "GET":
        return "read"
    # POST routes that only query or build an answer from stored data.
    if is_(r"/tools/(find|lookup|count-resources|bulk-content|create-archive|"
           r"create-media|create-media-extended)", "POST") \
            or is_(rf"/{LEVEL_RE}/[^/]+/(archive|media)", "POST") \
            or is_(rf"/{LEVEL_RE}/[^/]+/attachments/[^/]+/verify-md5", "POST"):
        return "read"
    if is_(r"/instances|/tools/create-dicom|/dicom-web/studies(/[^/]+)?", "POST"):
        return "upload"
    if is_(rf"/{LEVEL_RE}/[^/]+", "DELETE") \
            or is_(rf"/{LEVEL_RE}/[^/]+/(modify|anonymize|reconstruct)", "POST") \
            or is_(rf"/{LEVEL_RE}/[^/]+/(labels|metadata|attachments)/[^/]+",
                   "PUT", "DELETE") \
            or is_(rf"/{LEVEL_RE}/[^/]+/attachments/[^/]+/(compress|uncompress)",
                   "POST") \
            or is_(r"/patients/[^/]+/protected", "PUT") \
            or is_(r"/studies/[^/]+/(merge|split|update-dicomweb-cache)", "POST") \
            or is_(r"/tools/bulk-(modify|anonymize|delete)", "POST"):
        return "modify"
    return "admin"


def concrete(template):
    return re.sub(r"\{([^}]*)\}", lambda m: SAMPLES.get(m.group(1), "sample"),
                  template)


@pytest.fixture(scope="module")
def route_tool():
    if not os.access(ROUTE_TOOL, os.X_OK):
        pytest.skip(f"no route tool at {ROUTE_TOOL} (set OP_ROUTE_TOOL or build "
                    "tests/tools/route_tool)")
    return ROUTE_TOOL


def classify(tool, routes):
    """{(method, template): (level, family)} from the route tool."""
    return {route: (level, family) for route, (level, _, family)
            in classify_with_release(tool, routes).items()}


def classify_with_release(tool, routes):
    """{(method, template): (level, since, family)} from the route tool;
    SINCE is None, or the route's first release as a string
    ("Orthanc_1.12.0", "DICOMweb_1.19")."""
    stdin = "".join(f"{m} {concrete(p)}\n" for m, p in routes)
    out = subprocess.run([tool, "--since"], input=stdin, capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    assert len(out) == len(routes)
    found = {}
    for route, line in zip(routes, out):
        level, since, family = line.split(" ", 2)
        found[route] = (level, None if since == "-" else since, family)
    return found


def orthanc_release(since):
    """(1, 12, 0) for "Orthanc_1.12.0"; None for a plugin's release."""
    product, _, version = since.partition("_")
    if product != "Orthanc":
        return None
    return tuple(int(n) for n in version.split("."))


@pytest.fixture(scope="module")
def installed_routes(tmp_path_factory):
    """The (METHOD, TEMPLATE) routes of the installed Orthanc, and its version."""
    if not os.access(ORTHANC_ROOT + ORTHANC, os.X_OK):
        pytest.skip(f"no Orthanc at {ORTHANC}")
    work = tmp_path_factory.mktemp("openapi")
    storage = work / "storage"
    config = {
        "Name": "route-coverage",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": free_port(),
        "DicomPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
    }
    (work / "orthanc.json").write_text(json.dumps(config))
    openapi = work / "openapi.json"
    log = subprocess.run(orthanc_command([f"--openapi={openapi}",
                                          "orthanc.json"], work),
                         cwd=work, capture_output=True, text=True, timeout=300)
    assert log.returncode == 0, log.stdout + log.stderr
    # Keys may repeat in Orthanc's output: keep every pair.
    document = json.loads(openapi.read_text(),
                          object_pairs_hook=lambda pairs: pairs)
    paths = dict(document)["paths"]
    routes = {(method.upper(), path) for path, operations in paths
              for method, _ in operations}
    undocumented = re.compile(r"(?:Exception while documenting|Ignoring URI "
                              r"without API documentation:) ([A-Z]+) (/\S*?):?$")
    for line in (log.stdout + log.stderr).splitlines():
        match = undocumented.search(line.strip())
        if match:
            routes.add((match.group(1), match.group(2)))
    version = subprocess.run(orthanc_command(["--version"], work),
                             capture_output=True, text=True,
                             timeout=60).stdout.split("\n")[0]
    assert len(routes) > 200, f"only {len(routes)} routes found"
    return sorted(routes, key=lambda r: (r[1], r[0])), version


def summary(title, classified):
    levels = collections.Counter(level for level, _ in classified.values())
    families = collections.Counter(f"{level:6} {family}"
                                   for level, family in classified.values())
    paths = {path for _, path in classified}
    lines = [f"{title}: {len(classified)} routes over {len(paths)} paths; "
             + ", ".join(f"{level} {levels[level]}"
                         for level in LEVELS + ["unknown", "invalid"]
                         if levels[level])]
    lines += [f"  {count:4}  {key}" for key, count in sorted(families.items())]
    print("\n".join(lines))


def test_every_installed_route_is_known(route_tool, installed_routes):
    routes, version = installed_routes
    classified = classify(route_tool, routes)
    summary(f"installed {version}", classified)
    unknown = [f"{m} {p}" for (m, p), (level, _) in classified.items()
               if level not in LEVELS]
    assert not unknown, "routes the table does not know:\n" + "\n".join(unknown)


def test_installed_routes_have_the_specified_levels(route_tool, installed_routes):
    routes, _ = installed_routes
    classified = classify(route_tool, routes)
    wrong = [f"{m} {p}: {level}, expected {expected_level(m, p)}"
             for (m, p), (level, _) in classified.items()
             if level != expected_level(m, p)]
    assert not wrong, "\n".join(wrong)


def test_newer_core_plugin_and_ui_routes_are_known(route_tool):
    routes = parse_routes(NEWER_CORE_ROUTES) + parse_routes(RENAMED_CORE_ROUTES) \
        + parse_routes(PLUGIN_AND_UI_ROUTES)
    classified = classify(route_tool, routes)
    summary("Orthanc 1.11-1.13, DICOMweb, web UIs", classified)
    wrong = [f"{m} {p}: {level}, expected {expected_level(m, p)}"
             for (m, p), (level, _) in classified.items()
             if level != expected_level(m, p)]
    assert not wrong, "\n".join(wrong)


def test_the_table_says_from_which_release_a_route_exists(route_tool,
                                                          installed_routes):
    """Every route the running Orthanc installs is in the table with a first
    release no later than it; the newer routes it lacks are in the table
    with a later one (run on each Orthanc of the version matrix)."""
    routes, _ = installed_routes
    version = orthanc_version()
    installed = classify_with_release(route_tool, routes)
    too_new = [f"{m} {p}: since {since}" for (m, p), (_, since, _) in
               installed.items()
               if since and orthanc_release(since)
               and orthanc_release(since) > version]
    assert not too_new, (f"routes Orthanc {version} has, said to come later:\n"
                         + "\n".join(too_new))
    newer = classify_with_release(route_tool, parse_routes(NEWER_CORE_ROUTES))
    missing = [(m, p) for m, p in parse_routes(NEWER_CORE_ROUTES)
               if (m, p) not in set(routes)]
    too_old = [f"{m} {p}: since {newer[(m, p)][1]}" for m, p in missing
               if newer[(m, p)][1] is None
               or orthanc_release(newer[(m, p)][1]) <= version]
    assert not too_old, (f"routes Orthanc {version} lacks, said to exist "
                         f"already:\n" + "\n".join(too_old))


def test_dangerous_routes_need_admin(route_tool, installed_routes):
    routes, _ = installed_routes
    dangerous = parse_routes(DANGEROUS)
    classified = classify(route_tool, dangerous)
    # 'unknown' needs admin as well (WebDAV is not in the table).
    lower = [f"{m} {p}: {level} ({family})"
             for (m, p), (level, family) in classified.items()
             if level not in ("admin", "unknown")]
    assert not lower, "dangerous routes below admin:\n" + "\n".join(lower)
    # The list names real routes: those of the core are in the installed
    # Orthanc unless they are newer than it.
    newer = set(parse_routes(NEWER_CORE_ROUTES))
    installed = set(routes)
    missing = [f"{m} {p}" for m, p in dangerous
               if not p.startswith(("/dicom-web/", "/webdav/"))
               and (m, p) not in installed and (m, p) not in newer]
    assert not missing, "not routes of Orthanc:\n" + "\n".join(missing)


def test_levels_are_monotonic(route_tool, installed_routes):
    """Reading needs no more than read; only stores need upload; GETs never
    change anything; each level adds to the one below it."""
    routes, _ = installed_routes
    routes = routes + parse_routes(NEWER_CORE_ROUTES) + parse_routes(PLUGIN_AND_UI_ROUTES)
    classified = classify(route_tool, routes)
    by_level = collections.defaultdict(set)
    for route, (level, _) in classified.items():
        by_level[level].add(route)
    # GET is read, except where even reading shows the network's
    # configuration or everybody's jobs, exports and queries.
    for m, p in by_level["upload"] | by_level["modify"]:
        assert m != "GET", f"{m} {p} needs more than read"
    for m, p in by_level["admin"]:
        if m == "GET":
            assert re.match(r"/(modalities|peers)(/|$)|/dicom-web/servers(/|$)"
                            r"|/(jobs|exports|queries)$", p), \
                f"GET {p} needs admin"
    # Every upload route stores; nothing else does.
    assert {p for _, p in by_level["upload"]} <= {
        "/instances", "/tools/create-dicom", "/dicom-web/studies",
        "/dicom-web/studies/{study}"}
    assert ("POST", "/instances") in by_level["upload"]
    # Reading POSTs are only the queries and the archive builders.
    for m, p in by_level["read"]:
        if m != "GET":
            assert m == "POST" and re.search(
                r"/(find|lookup|count-resources|bulk-content|create-archive|"
                r"create-media|create-media-extended|archive|media|verify-md5)$", p), \
                f"{m} {p} is read"
    # A level exposes strictly more than the one below it.
    reachable = set()
    for level in LEVELS:
        grown = reachable | by_level[level]
        assert len(grown) > len(reachable), f"{level} adds no route"
        reachable = grown
