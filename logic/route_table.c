/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_table.c - Orthanc's REST routes and the access level each needs.
 *
 * Derived from Orthanc's REST API reference: the routes of the Orthanc core
 * 1.10 to 1.12 (its OpenAPI description and the Register() calls of
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
 * after /{level}), kept next to each other so the README can show them as
 * one row. */
#define ON_ALL_LEVELS(methods, rest, level, family) \
    { methods, "/patients" rest, level, family },   \
    { methods, "/studies" rest, level, family },    \
    { methods, "/series" rest, level, family },     \
    { methods, "/instances" rest, level, family }

/* The same below patients, studies and series (the levels with children). */
#define ON_PARENT_LEVELS(methods, rest, level, family) \
    { methods, "/patients" rest, level, family },      \
    { methods, "/studies" rest, level, family },       \
    { methods, "/series" rest, level, family }

/* DICOMweb: the plugin's default root. */
#define DW "/dicom-web"
#define DW_INSTANCE DW "/studies/*/series/*/instances/*"

static const op_route ROUTES[] = {
    /* ------------------------------------------ server administration */
    { "POST", "/tools/execute-script", ADMIN, "server administration (Lua)" },
    { "POST", "/tools/shutdown", ADMIN, "server administration" },
    { "POST", "/tools/reset", ADMIN, "server administration" },
    { "POST", "/tools/reconstruct", ADMIN, "server administration" },
    { "POST", "/tools/invalidate-tags", ADMIN, "server administration" },
    { "PUT", "/tools/log-level", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-generic", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-plugins", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-http", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-dicom", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-sqlite", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-jobs", ADMIN, "server settings" },
    { "PUT", "/tools/log-level-lua", ADMIN, "server settings" },
    { "PUT", "/tools/default-encoding", ADMIN, "server settings" },
    { "PUT", "/tools/metrics", ADMIN, "server settings" },
    { "PUT", "/tools/accepted-transfer-syntaxes", ADMIN, "server settings" },
    { "PUT", "/tools/unknown-sop-class-accepted", ADMIN, "server settings" },

    /* Writes a file on the server's disk (CVE-2023-33466). */
    { "POST", "/instances/*/export", ADMIN, "export to the server's disk" },

    /* -------------------------------- DICOM networking and Orthanc peers */
    /* Configuration, C-ECHO, C-FIND, C-MOVE, C-GET, C-STORE, storage
     * commitment; even the GETs show the network's configuration. */
    { "*", "/modalities/**", ADMIN, "DICOM networking" },
    { "POST", "/tools/dicom-echo", ADMIN, "DICOM networking" },
    { "POST,DELETE", "/queries/**", ADMIN, "DICOM networking (query/retrieve)" },
    { "POST", "/storage-commitment/*/remove", ADMIN, "DICOM networking (storage commitment)" },
    { "*", "/peers/**", ADMIN, "Orthanc peers" },
    { "*", DW "/servers/**", ADMIN, "DICOMweb servers (outbound requests)" },

    /* ---------------------------------------------------- jobs control */
    { "POST", "/jobs/*/cancel", ADMIN, "jobs control" },
    { "POST", "/jobs/*/pause", ADMIN, "jobs control" },
    { "POST", "/jobs/*/resume", ADMIN, "jobs control" },
    { "POST", "/jobs/*/resubmit", ADMIN, "jobs control" },
    { "DELETE", "/jobs/*", ADMIN, "jobs control" },
    { "DELETE", "/jobs/*/*", ADMIN, "jobs control" },

    /* The logs other systems read to follow Orthanc. */
    { "DELETE", "/changes", ADMIN, "changes and exports logs" },
    { "DELETE", "/exports", ADMIN, "changes and exports logs" },

    /* ------------------------------------------------ server information */
    { "GET", "/system", READ, "server information" },
    { "GET", "/statistics", READ, "server information" },
    { "GET", "/plugins", READ, "server information" },
    { "GET", "/plugins/explorer.js", READ, "web UI" },
    { "GET", "/plugins/*", READ, "server information" },
    { "GET", "/tools", READ, "server information" },
    { "GET", "/tools/now", READ, "server information" },
    { "GET", "/tools/now-local", READ, "server information" },
    { "GET", "/tools/generate-uid", READ, "server information" },
    { "GET", "/tools/dicom-conformance", READ, "server information" },
    { "GET", "/tools/log-level", READ, "server settings" },
    { "GET", "/tools/log-level-generic", READ, "server settings" },
    { "GET", "/tools/log-level-plugins", READ, "server settings" },
    { "GET", "/tools/log-level-http", READ, "server settings" },
    { "GET", "/tools/log-level-dicom", READ, "server settings" },
    { "GET", "/tools/log-level-sqlite", READ, "server settings" },
    { "GET", "/tools/log-level-jobs", READ, "server settings" },
    { "GET", "/tools/log-level-lua", READ, "server settings" },
    { "GET", "/tools/default-encoding", READ, "server settings" },
    { "GET", "/tools/metrics", READ, "server settings" },
    { "GET", "/tools/accepted-transfer-syntaxes", READ, "server settings" },
    { "GET", "/tools/unknown-sop-class-accepted", READ, "server settings" },
    { "GET", "/tools/accepted-sop-classes", READ, "server settings" },
    { "GET", "/tools/metrics-prometheus", READ, "monitoring metrics" },

    /* ------------------------------------- changes, jobs, query results */
    /* One rule for what describes the DICOM network or everybody's work:
     * the lists of all jobs (store jobs name modalities and peers), of all
     * exports and of all queries are admin, like GET /modalities.  A job or
     * a query named by its ID stays read: the ID is a random UUID that only
     * its creator was given, and asynchronous archives are downloaded as
     * /jobs/{id}/archive. */
    { "GET", "/changes", READ, "changes and exports logs" },
    { "GET", "/exports", ADMIN, "everybody's jobs, exports and queries" },
    { "GET", "/jobs", ADMIN, "everybody's jobs, exports and queries" },
    { "GET", "/jobs/*", READ, "a job by its ID" },
    { "GET", "/jobs/*/*", READ, "a job by its ID" },
    { "GET", "/queries", ADMIN, "everybody's jobs, exports and queries" },
    { "GET", "/queries/*", READ, "DICOM query results" },
    { "GET", "/queries/*/answers", READ, "DICOM query results" },
    { "GET", "/queries/*/answers/*", READ, "DICOM query results" },
    { "GET", "/queries/*/answers/*/content", READ, "DICOM query results" },
    { "GET", "/queries/*/level", READ, "DICOM query results" },
    { "GET", "/queries/*/modality", READ, "DICOM query results" },
    { "GET", "/queries/*/query", READ, "DICOM query results" },
    { "GET", "/storage-commitment/*", READ, "DICOM networking (storage commitment)" },

    /* ------------------------------------------------- search and lookup */
    { "POST", "/tools/find", READ, "search" },
    { "POST", "/tools/count-resources", READ, "search" },
    { "POST", "/tools/lookup", READ, "search" },
    { "GET", "/tools/labels", READ, "labels" },
    { "POST", "/tools/bulk-content", READ, "bulk operations (reading)" },

    /* -------------------------------------------------- reading resources */
    ON_ALL_LEVELS("GET", "", READ, "resources"),
    ON_ALL_LEVELS("GET", "/*", READ, "resources"),
    ON_ALL_LEVELS("GET", "/*/statistics", READ, "resources"),
    ON_ALL_LEVELS("GET", "/*/module", READ, "resources"),
    { "GET", "/studies/*/module-patient", READ, "resources" },
    ON_PARENT_LEVELS("GET", "/*/shared-tags", READ, "resources"),
    ON_PARENT_LEVELS("GET", "/*/instances", READ, "resources"),
    ON_PARENT_LEVELS("GET", "/*/instances-tags", READ, "resources"),
    { "GET", "/patients/*/studies", READ, "resources" },
    { "GET", "/patients/*/series", READ, "resources" },
    { "GET", "/studies/*/series", READ, "resources" },
    { "GET", "/studies/*/patient", READ, "resources" },
    { "GET", "/series/*/patient", READ, "resources" },
    { "GET", "/series/*/study", READ, "resources" },
    { "GET", "/instances/*/patient", READ, "resources" },
    { "GET", "/instances/*/study", READ, "resources" },
    { "GET", "/instances/*/series", READ, "resources" },
    { "GET", "/series/*/ordered-slices", READ, "resources" },
    { "GET", "/patients/*/protected", READ, "patient protection" },
    { "GET", "/instances/*/tags", READ, "DICOM tags and files" },
    { "GET", "/instances/*/simplified-tags", READ, "DICOM tags and files" },
    { "GET", "/instances/*/header", READ, "DICOM tags and files" },
    { "GET", "/instances/*/file", READ, "DICOM tags and files" },
    { "GET", "/instances/*/content/**", READ, "DICOM tags and files" },
    { "GET", "/instances/*/pdf", READ, "DICOM tags and files" },

    /* ------------------------------------------------------------ images */
    { "GET", "/instances/*/frames", READ, "images" },
    { "GET", "/instances/*/frames/*", READ, "images" },
    { "GET", "/instances/*/frames/*/preview", READ, "images" },
    { "GET", "/instances/*/frames/*/rendered", READ, "images" },
    { "GET", "/instances/*/frames/*/image-uint8", READ, "images" },
    { "GET", "/instances/*/frames/*/image-uint16", READ, "images" },
    { "GET", "/instances/*/frames/*/image-int16", READ, "images" },
    { "GET", "/instances/*/frames/*/matlab", READ, "images" },
    { "GET", "/instances/*/frames/*/numpy", READ, "images" },
    { "GET", "/instances/*/frames/*/raw", READ, "images" },
    { "GET", "/instances/*/frames/*/raw.gz", READ, "images" },
    { "GET", "/instances/*/preview", READ, "images" },
    { "GET", "/instances/*/rendered", READ, "images" },
    { "GET", "/instances/*/image-uint8", READ, "images" },
    { "GET", "/instances/*/image-uint16", READ, "images" },
    { "GET", "/instances/*/image-int16", READ, "images" },
    { "GET", "/instances/*/matlab", READ, "images" },
    { "GET", "/instances/*/numpy", READ, "images" },
    { "GET", "/series/*/numpy", READ, "images" },

    /* ---------------------------------------------- archives and media */
    ON_PARENT_LEVELS("GET,POST", "/*/archive", READ, "archives and media"),
    ON_PARENT_LEVELS("GET,POST", "/*/media", READ, "archives and media"),
    { "GET,POST", "/tools/create-archive", READ, "archives and media" },
    { "GET,POST", "/tools/create-media", READ, "archives and media" },
    { "GET,POST", "/tools/create-media-extended", READ, "archives and media" },

    /* ------------------------------------ metadata, labels, attachments */
    ON_ALL_LEVELS("GET", "/*/metadata", READ, "metadata"),
    ON_ALL_LEVELS("GET", "/*/metadata/*", READ, "metadata"),
    ON_ALL_LEVELS("PUT,DELETE", "/*/metadata/*", MODIFY, "metadata"),
    ON_ALL_LEVELS("GET", "/*/labels", READ, "labels"),
    ON_ALL_LEVELS("GET", "/*/labels/*", READ, "labels"),
    ON_ALL_LEVELS("PUT,DELETE", "/*/labels/*", MODIFY, "labels"),
    ON_ALL_LEVELS("GET", "/*/attachments", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*", READ, "attachments"),
    ON_ALL_LEVELS("PUT,DELETE", "/*/attachments/*", MODIFY, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/data", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/compressed-data", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/info", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/size", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/compressed-size", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/md5", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/compressed-md5", READ, "attachments"),
    ON_ALL_LEVELS("GET", "/*/attachments/*/is-compressed", READ, "attachments"),
    ON_ALL_LEVELS("POST", "/*/attachments/*/verify-md5", READ, "attachments"),
    ON_ALL_LEVELS("POST", "/*/attachments/*/compress", MODIFY, "attachments"),
    ON_ALL_LEVELS("POST", "/*/attachments/*/uncompress", MODIFY, "attachments"),

    /* ------------------------------------------------ storing new data */
    { "POST", "/instances", UPLOAD, "storing DICOM files" },
    { "POST", "/tools/create-dicom", UPLOAD, "storing DICOM files" },

    /* ------------------------------------ changing and deleting data */
    ON_ALL_LEVELS("DELETE", "/*", MODIFY, "deleting resources"),
    ON_ALL_LEVELS("POST", "/*/modify", MODIFY, "modification and anonymization"),
    ON_ALL_LEVELS("POST", "/*/anonymize", MODIFY, "modification and anonymization"),
    { "POST", "/tools/bulk-modify", MODIFY, "modification and anonymization" },
    { "POST", "/tools/bulk-anonymize", MODIFY, "modification and anonymization" },
    { "POST", "/tools/bulk-delete", MODIFY, "deleting resources" },
    { "PUT", "/patients/*/protected", MODIFY, "patient protection" },
    { "POST", "/studies/*/merge", MODIFY, "study merge and split" },
    { "POST", "/studies/*/split", MODIFY, "study merge and split" },
    ON_ALL_LEVELS("POST", "/*/reconstruct", MODIFY, "reconstruction"),

    /* ------------------------------------------------------- DICOMweb */
    { "GET", DW "/studies", READ, "DICOMweb QIDO/WADO" },
    { "POST", DW "/studies", UPLOAD, "DICOMweb STOW-RS" },
    { "GET", DW "/studies/*", READ, "DICOMweb QIDO/WADO" },
    { "POST", DW "/studies/*", UPLOAD, "DICOMweb STOW-RS" },
    { "GET", DW "/series", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/instances", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/metadata", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/rendered", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/thumbnail", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/series", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/instances", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/series/*", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/series/*/metadata", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/series/*/rendered", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/series/*/thumbnail", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW "/studies/*/series/*/instances", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE, READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/metadata", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/rendered", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/thumbnail", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/bulk/**", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/frames", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/frames/*", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/frames/*/rendered", READ, "DICOMweb QIDO/WADO" },
    { "GET", DW_INSTANCE "/frames/*/thumbnail", READ, "DICOMweb QIDO/WADO" },
    { "GET", "/wado", READ, "DICOMweb WADO-URI" },
    { "GET", DW "/info", READ, "DICOMweb client (web UI)" },
    { "GET", DW "/app/client/**", READ, "DICOMweb client (web UI)" },
    { "GET", DW "/app/libs/**", READ, "DICOMweb client (web UI)" },
    /* Refreshes the plugin's metadata cache, stored as an attachment. */
    { "POST", "/studies/*/update-dicomweb-cache", MODIFY, "DICOMweb metadata cache" },

    /* ---------------------------------------------- the web interfaces */
    { "GET", "/", READ, "web UI" },
    { "GET", "/favicon.ico", READ, "web UI" },
    { "GET", "/app/**", READ, "web UI" },
    { "GET", "/ui/app/**", READ, "web UI" },
    { "GET", "/ui/api/configuration", READ, "web UI" },
    { "GET", "/ui/api/pre-login-configuration", READ, "web UI" },

    { NULL, NULL, OP_LEVEL_UNSET, NULL }
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
