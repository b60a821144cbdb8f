/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_table.c - Orthanc's REST routes and the access level each needs.
 *
 * Derived from Orthanc's REST API reference: the routes of the Orthanc core
 * 1.10 to 1.13 (its OpenAPI description and the Register() calls of
 * OrthancServer/Sources/OrthancRestApi), the DICOMweb plugin (QIDO-RS,
 * WADO-RS, STOW-RS, WADO-URI and its client of other DICOMweb servers,
 * with the default roots /dicom-web/ and /wado), Orthanc Explorer (/app/)
 * and Orthanc Explorer 2 (/ui/).
 *
 * Rules of the table:
 * - The first entry that matches wins.  An entry never comes after an
 *   overlapping one of a lower level (the unit tests walk the table to
 *   check it), so the order only matters between admin entries and the
 *   routes they cover.
 * - There is no catch-all: a route the table does not know (a newer
 *   Orthanc's, a plugin's, WebDAV) needs admin.
 * - Only routes Orthanc really serves are listed, each with the methods
 *   it accepts; a method Orthanc does not accept on a route is unknown too.
 * - Each route says from which release it exists when that is later than
 *   Orthanc 1.10 and DICOMweb 1.7, the oldest supported (from their NEWS
 *   files; tests/e2e/test_route_coverage.py checks it on every Orthanc of
 *   the version matrix).
 */
#include "route_table.h"

#include <string.h>
#include <strings.h>

#include "pattern.h"

#define READ   OP_LEVEL_READ
#define UPLOAD OP_LEVEL_UPLOAD
#define MODIFY OP_LEVEL_MODIFY
#define ADMIN  OP_LEVEL_ADMIN

/* One route below each of Orthanc's four resource levels (REST is the part
 * after /{level}), kept next to each other so the manual's route table
 * (docs/access.md) can show them as one row. */
#define ON_ALL_LEVELS(methods, rest, level, family, since) \
    { methods, "/patients" rest, level, family, since },   \
    { methods, "/studies" rest, level, family, since },    \
    { methods, "/series" rest, level, family, since },     \
    { methods, "/instances" rest, level, family, since }

/* The same below patients, studies and series (the levels with children). */
#define ON_PARENT_LEVELS(methods, rest, level, family, since) \
    { methods, "/patients" rest, level, family, since },      \
    { methods, "/studies" rest, level, family, since },       \
    { methods, "/series" rest, level, family, since }

/* A route every supported release has: Orthanc 1.10, DICOMweb 1.7. */
#define ALWAYS NULL

/* DICOMweb: the plugin's default root. */
#define DW "/dicom-web"
#define DW_INSTANCE DW "/studies/*/series/*/instances/*"

static const op_route ROUTES[] = {
    /* ------------------------------------------ server administration */
    { "POST", "/tools/execute-script", ADMIN, "server administration (Lua)", ALWAYS },
    { "POST", "/tools/shutdown", ADMIN, "server administration", ALWAYS },
    { "POST", "/tools/reset", ADMIN, "server administration", ALWAYS },
    { "POST", "/tools/reconstruct", ADMIN, "server administration", ALWAYS },
    { "POST", "/tools/invalidate-tags", ADMIN, "server administration", ALWAYS },
    { "PUT", "/tools/log-level", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-generic", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-plugins", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-http", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-dicom", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-sqlite", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-jobs", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/log-level-lua", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/default-encoding", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/metrics", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/accepted-transfer-syntaxes", ADMIN, "server settings", ALWAYS },
    { "PUT", "/tools/unknown-sop-class-accepted", ADMIN, "server settings", ALWAYS },

    /* Writes a file on the server's disk (CVE-2023-33466). */
    { "POST", "/instances/*/export", ADMIN, "export to the server's disk", ALWAYS },

    /* -------------------------------- DICOM networking and Orthanc peers */
    /* Configuration, C-ECHO, C-FIND, C-MOVE, C-GET, C-STORE, storage
     * commitment; even the GETs show the network's configuration. */
    { "POST", "/modalities/*/get", ADMIN, "DICOM networking", "Orthanc 1.12.6" },
    { "*", "/modalities/**", ADMIN, "DICOM networking", ALWAYS },
    { "POST", "/tools/dicom-echo", ADMIN, "DICOM networking", ALWAYS },
    { "POST,DELETE", "/queries/**", ADMIN, "DICOM networking (query/retrieve)", ALWAYS },
    { "POST", "/storage-commitment/*/remove", ADMIN, "DICOM networking (storage commitment)", ALWAYS },
    { "*", "/peers/**", ADMIN, "Orthanc peers", ALWAYS },
    { "*", DW "/servers/**", ADMIN, "DICOMweb servers (outbound requests)", ALWAYS },

    /* ---------------------------------------------------- jobs control */
    { "POST", "/jobs/*/cancel", ADMIN, "jobs control", ALWAYS },
    { "POST", "/jobs/*/pause", ADMIN, "jobs control", ALWAYS },
    { "POST", "/jobs/*/resume", ADMIN, "jobs control", ALWAYS },
    { "POST", "/jobs/*/resubmit", ADMIN, "jobs control", ALWAYS },
    { "DELETE", "/jobs/*", ADMIN, "jobs control", "Orthanc 1.12.2" },
    { "DELETE", "/jobs/*/*", ADMIN, "jobs control", "Orthanc 1.12.1" },

    /* The logs other systems read to follow Orthanc. */
    { "DELETE", "/changes", ADMIN, "changes and exports logs", ALWAYS },
    { "DELETE", "/exports", ADMIN, "changes and exports logs", ALWAYS },

    /* ------------------------------------------------ server information */
    { "GET", "/system", READ, "server information", ALWAYS },
    { "GET", "/statistics", READ, "server information", ALWAYS },
    { "GET", "/plugins", READ, "server information", ALWAYS },
    { "GET", "/plugins/explorer.js", READ, "web UI", ALWAYS },
    { "GET", "/plugins/*", READ, "server information", ALWAYS },
    { "GET", "/tools", READ, "server information", ALWAYS },
    { "GET", "/tools/now", READ, "server information", ALWAYS },
    { "GET", "/tools/now-local", READ, "server information", ALWAYS },
    { "GET", "/tools/generate-uid", READ, "server information", ALWAYS },
    { "GET", "/tools/dicom-conformance", READ, "server information", ALWAYS },
    { "GET", "/tools/log-level", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-generic", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-plugins", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-http", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-dicom", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-sqlite", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-jobs", READ, "server settings", ALWAYS },
    { "GET", "/tools/log-level-lua", READ, "server settings", ALWAYS },
    { "GET", "/tools/default-encoding", READ, "server settings", ALWAYS },
    { "GET", "/tools/metrics", READ, "server settings", ALWAYS },
    { "GET", "/tools/accepted-transfer-syntaxes", READ, "server settings", ALWAYS },
    { "GET", "/tools/unknown-sop-class-accepted", READ, "server settings", ALWAYS },
    { "GET", "/tools/accepted-sop-classes", READ, "server settings", "Orthanc 1.12.6" },
    { "GET", "/tools/metrics-prometheus", READ, "monitoring metrics", ALWAYS },

    /* ------------------------------------- changes, jobs, query results */
    /* One rule for what describes the DICOM network or everybody's work:
     * the lists of all jobs (store jobs name modalities and peers), of all
     * exports and of all queries are admin, like GET /modalities.  A job or
     * a query named by its ID stays read: the ID is a random UUID that only
     * its creator was given, and asynchronous archives are downloaded as
     * /jobs/{id}/archive. */
    { "GET", "/changes", READ, "changes and exports logs", ALWAYS },
    { "GET", "/exports", ADMIN, "everybody's jobs, exports and queries", ALWAYS },
    { "GET", "/jobs", ADMIN, "everybody's jobs, exports and queries", ALWAYS },
    { "GET", "/jobs/*", READ, "a job by its ID", ALWAYS },
    { "GET", "/jobs/*/*", READ, "a job by its ID", ALWAYS },
    { "GET", "/queries", ADMIN, "everybody's jobs, exports and queries", ALWAYS },
    { "GET", "/queries/*", READ, "DICOM query results", ALWAYS },
    { "GET", "/queries/*/answers", READ, "DICOM query results", ALWAYS },
    { "GET", "/queries/*/answers/*", READ, "DICOM query results", ALWAYS },
    { "GET", "/queries/*/answers/*/content", READ, "DICOM query results", ALWAYS },
    { "GET", "/queries/*/level", READ, "DICOM query results", ALWAYS },
    { "GET", "/queries/*/modality", READ, "DICOM query results", ALWAYS },
    { "GET", "/queries/*/query", READ, "DICOM query results", ALWAYS },
    { "GET", "/storage-commitment/*", READ, "DICOM networking (storage commitment)", ALWAYS },

    /* ------------------------------------------------- search and lookup */
    { "POST", "/tools/find", READ, "search", ALWAYS },
    { "POST", "/tools/count-resources", READ, "search", "Orthanc 1.12.5" },
    { "POST", "/tools/lookup", READ, "search", ALWAYS },
    { "GET", "/tools/labels", READ, "labels", "Orthanc 1.12.0" },
    { "POST", "/tools/bulk-content", READ, "bulk operations (reading)", ALWAYS },

    /* -------------------------------------------------- reading resources */
    ON_ALL_LEVELS("GET", "", READ, "resources", ALWAYS),
    ON_ALL_LEVELS("GET", "/*", READ, "resources", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/statistics", READ, "resources", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/module", READ, "resources", ALWAYS),
    { "GET", "/studies/*/module-patient", READ, "resources", ALWAYS },
    ON_PARENT_LEVELS("GET", "/*/shared-tags", READ, "resources", ALWAYS),
    ON_PARENT_LEVELS("GET", "/*/instances", READ, "resources", ALWAYS),
    ON_PARENT_LEVELS("GET", "/*/instances-tags", READ, "resources", ALWAYS),
    { "GET", "/patients/*/studies", READ, "resources", ALWAYS },
    { "GET", "/patients/*/series", READ, "resources", ALWAYS },
    { "GET", "/studies/*/series", READ, "resources", ALWAYS },
    { "GET", "/studies/*/patient", READ, "resources", ALWAYS },
    { "GET", "/series/*/patient", READ, "resources", ALWAYS },
    { "GET", "/series/*/study", READ, "resources", ALWAYS },
    { "GET", "/instances/*/patient", READ, "resources", ALWAYS },
    { "GET", "/instances/*/study", READ, "resources", ALWAYS },
    { "GET", "/instances/*/series", READ, "resources", ALWAYS },
    { "GET", "/series/*/ordered-slices", READ, "resources", ALWAYS },
    { "GET", "/patients/*/protected", READ, "patient protection", ALWAYS },
    { "GET", "/instances/*/tags", READ, "DICOM tags and files", ALWAYS },
    { "GET", "/instances/*/simplified-tags", READ, "DICOM tags and files", ALWAYS },
    { "GET", "/instances/*/header", READ, "DICOM tags and files", ALWAYS },
    { "GET", "/instances/*/file", READ, "DICOM tags and files", ALWAYS },
    { "GET", "/instances/*/content/**", READ, "DICOM tags and files", ALWAYS },
    { "GET", "/instances/*/pdf", READ, "DICOM tags and files", ALWAYS },

    /* ------------------------------------------------------------ images */
    { "GET", "/instances/*/frames", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/preview", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/rendered", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/image-uint8", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/image-uint16", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/image-int16", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/matlab", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/numpy", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/raw", READ, "images", ALWAYS },
    { "GET", "/instances/*/frames/*/raw.gz", READ, "images", ALWAYS },
    { "GET", "/instances/*/preview", READ, "images", ALWAYS },
    { "GET", "/instances/*/rendered", READ, "images", ALWAYS },
    { "GET", "/instances/*/image-uint8", READ, "images", ALWAYS },
    { "GET", "/instances/*/image-uint16", READ, "images", ALWAYS },
    { "GET", "/instances/*/image-int16", READ, "images", ALWAYS },
    { "GET", "/instances/*/matlab", READ, "images", ALWAYS },
    { "GET", "/instances/*/numpy", READ, "images", ALWAYS },
    { "GET", "/series/*/numpy", READ, "images", ALWAYS },

    /* ---------------------------------------------- archives and media */
    ON_PARENT_LEVELS("GET,POST", "/*/archive", READ, "archives and media", ALWAYS),
    ON_PARENT_LEVELS("GET,POST", "/*/media", READ, "archives and media", ALWAYS),
    { "POST", "/tools/create-archive", READ, "archives and media", ALWAYS },
    { "GET", "/tools/create-archive", READ, "archives and media", "Orthanc 1.12.2" },
    { "POST", "/tools/create-media", READ, "archives and media", ALWAYS },
    { "GET", "/tools/create-media", READ, "archives and media", "Orthanc 1.12.2" },
    { "POST", "/tools/create-media-extended", READ, "archives and media", ALWAYS },
    { "GET", "/tools/create-media-extended", READ, "archives and media", "Orthanc 1.12.2" },

    /* ------------------------------------ metadata, labels, attachments */
    ON_ALL_LEVELS("GET", "/*/metadata", READ, "metadata", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/metadata/*", READ, "metadata", ALWAYS),
    ON_ALL_LEVELS("PUT,DELETE", "/*/metadata/*", MODIFY, "metadata", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/labels", READ, "labels", "Orthanc 1.12.0"),
    ON_ALL_LEVELS("GET", "/*/labels/*", READ, "labels", "Orthanc 1.12.0"),
    ON_ALL_LEVELS("PUT,DELETE", "/*/labels/*", MODIFY, "labels", "Orthanc 1.12.0"),
    ON_ALL_LEVELS("GET", "/*/attachments", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("PUT,DELETE", "/*/attachments/*", MODIFY, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/data", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/compressed-data", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/info", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/size", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/compressed-size", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/md5", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/compressed-md5", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("GET", "/*/attachments/*/is-compressed", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("POST", "/*/attachments/*/verify-md5", READ, "attachments", ALWAYS),
    ON_ALL_LEVELS("POST", "/*/attachments/*/compress", MODIFY, "attachments", ALWAYS),
    ON_ALL_LEVELS("POST", "/*/attachments/*/uncompress", MODIFY, "attachments", ALWAYS),

    /* ------------------------------------------------ storing new data */
    { "POST", "/instances", UPLOAD, "storing DICOM files", ALWAYS },
    { "POST", "/tools/create-dicom", UPLOAD, "storing DICOM files", ALWAYS },

    /* ------------------------------------ changing and deleting data */
    ON_ALL_LEVELS("DELETE", "/*", MODIFY, "deleting resources", ALWAYS),
    ON_ALL_LEVELS("POST", "/*/modify", MODIFY, "modification and anonymization", ALWAYS),
    ON_ALL_LEVELS("POST", "/*/anonymize", MODIFY, "modification and anonymization", ALWAYS),
    { "POST", "/tools/bulk-modify", MODIFY, "modification and anonymization", ALWAYS },
    { "POST", "/tools/bulk-anonymize", MODIFY, "modification and anonymization", ALWAYS },
    { "POST", "/tools/bulk-delete", MODIFY, "deleting resources", ALWAYS },
    { "PUT", "/patients/*/protected", MODIFY, "patient protection", ALWAYS },
    { "POST", "/studies/*/merge", MODIFY, "study merge and split", ALWAYS },
    { "POST", "/studies/*/split", MODIFY, "study merge and split", ALWAYS },
    ON_ALL_LEVELS("POST", "/*/reconstruct", MODIFY, "reconstruction", ALWAYS),

    /* ------------------------------------------------------- DICOMweb */
    { "GET", DW "/studies", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "POST", DW "/studies", UPLOAD, "DICOMweb STOW-RS", ALWAYS },
    { "GET", DW "/studies/*", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "POST", DW "/studies/*", UPLOAD, "DICOMweb STOW-RS", ALWAYS },
    { "GET", DW "/series", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/instances", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/metadata", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/rendered", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/thumbnail", READ, "DICOMweb QIDO/WADO", "DICOMweb 1.19" },
    { "GET", DW "/studies/*/series", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/instances", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/series/*", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/series/*/metadata", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/series/*/rendered", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW "/studies/*/series/*/thumbnail", READ, "DICOMweb QIDO/WADO", "DICOMweb 1.19" },
    { "GET", DW "/studies/*/series/*/instances", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE, READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/metadata", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/rendered", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/thumbnail", READ, "DICOMweb QIDO/WADO", "DICOMweb 1.19" },
    { "GET", DW_INSTANCE "/bulk/**", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/frames", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/frames/*", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/frames/*/rendered", READ, "DICOMweb QIDO/WADO", ALWAYS },
    { "GET", DW_INSTANCE "/frames/*/thumbnail", READ, "DICOMweb QIDO/WADO", "DICOMweb 1.19" },
    { "GET", "/wado", READ, "DICOMweb WADO-URI", ALWAYS },
    { "GET", DW "/info", READ, "DICOMweb client (web UI)", ALWAYS },
    { "GET", DW "/app/client/**", READ, "DICOMweb client (web UI)", ALWAYS },
    { "GET", DW "/app/libs/**", READ, "DICOMweb client (web UI)", ALWAYS },
    /* Refreshes the plugin's metadata cache, stored as an attachment. */
    { "POST", "/studies/*/update-dicomweb-cache", MODIFY, "DICOMweb metadata cache", "DICOMweb 1.15" },

    /* ---------------------------------------------- the web interfaces */
    { "GET", "/", READ, "web UI", ALWAYS },
    { "GET", "/favicon.ico", READ, "web UI", ALWAYS },
    { "GET", "/app/**", READ, "web UI", ALWAYS },
    { "GET", "/ui/app/**", READ, "web UI", ALWAYS },
    { "GET", "/ui/api/configuration", READ, "web UI", ALWAYS },
    { "GET", "/ui/api/pre-login-configuration", READ, "web UI", ALWAYS },

    { NULL, NULL, OP_LEVEL_UNSET, NULL, NULL }
};

const op_route *op_route_table(void)
{
    return ROUTES;
}

const op_route *op_route_find(const char *method, const op_path *path, int from)
{
    const op_route *route;
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    /* The first byte of the first segment ('\0' for the root) rules out
     * most entries without a call: a literal first segment must start with
     * it, and the pattern "/" (the root) has '\0' there too. */
    char first = path->segments->nelts > from
                 ? APR_ARRAY_IDX(path->segments, from, const char *)[0] : '\0';

    for (route = ROUTES; route->pattern; route++) {
        if (route->pattern[1] != '*' && route->pattern[1] != first) {
            continue;
        }
        if (op_pattern_match(route->pattern, path, from)
            && op_methods_include(route->methods, as)) {
            return route;
        }
    }
    return NULL;
}

static const char *const LEVEL_NAMES[] = { NULL, "read", "upload", "modify", "admin" };

op_level op_level_parse(const char *name)
{
    int level;
    for (level = OP_LEVEL_READ; level <= OP_LEVEL_ADMIN; level++) {
        if (strcasecmp(name, LEVEL_NAMES[level]) == 0) {
            return (op_level)level;
        }
    }
    return OP_LEVEL_UNSET;
}

const char *op_level_name(op_level level)
{
    return level >= OP_LEVEL_READ && level <= OP_LEVEL_ADMIN
           ? LEVEL_NAMES[level] : "unset";
}
