/* SPDX-License-Identifier: Apache-2.0 */
/* Orthanc's routes and their levels: route_table.c */
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"
#include "pattern.h"
#include "route_table.h"

static const op_route *find(const char *method, const char *raw)
{
    op_path path = test_path(raw);
    return op_route_find(method, &path, 0);
}

/* The level METHOD RAW needs: OP_LEVEL_UNSET when the table has no route. */
static op_level level_of(const char *method, const char *raw)
{
    const op_route *route = find(method, raw);
    return route ? route->level : OP_LEVEL_UNSET;
}

typedef struct {
    const char *method;
    const char *path;
    op_level level;
    const char *family;
} expectation;

static void check_expectations(const expectation *e)
{
    for (; e->method; e++) {
        const op_route *route = find(e->method, e->path);
        ck_assert_msg(route != NULL, "%s %s: no route", e->method, e->path);
        ck_assert_msg(route->level == e->level, "%s %s: level %s, expected %s",
                      e->method, e->path, op_level_name(route->level),
                      op_level_name(e->level));
        if (e->family) {
            ck_assert_msg(strcmp(route->family, e->family) == 0,
                          "%s %s: family '%s', expected '%s'", e->method,
                          e->path, route->family, e->family);
        }
    }
}

START_TEST(levels_have_names)
{
    ck_assert_int_eq(op_level_parse("read"), OP_LEVEL_READ);
    ck_assert_int_eq(op_level_parse("ADMIN"), OP_LEVEL_ADMIN);
    ck_assert_int_eq(op_level_parse("root"), OP_LEVEL_UNSET);
    ck_assert_str_eq(op_level_name(OP_LEVEL_MODIFY), "modify");
}
END_TEST

START_TEST(reading_routes_need_read)
{
    static const expectation e[] = {
        { "GET", "/system", OP_LEVEL_READ, "server information" },
        { "GET", "/statistics", OP_LEVEL_READ, "server information" },
        { "GET", "/plugins/dicom-web", OP_LEVEL_READ, "server information" },
        { "GET", "/tools/now", OP_LEVEL_READ, "server information" },
        { "GET", "/tools/log-level-http", OP_LEVEL_READ, "server settings" },
        { "GET", "/tools/accepted-transfer-syntaxes", OP_LEVEL_READ, "server settings" },
        { "GET", "/tools/metrics-prometheus", OP_LEVEL_READ, "monitoring metrics" },
        { "GET", "/patients", OP_LEVEL_READ, "resources" },
        { "GET", "/studies/0a1b", OP_LEVEL_READ, "resources" },
        { "GET", "/series/0a1b/instances", OP_LEVEL_READ, "resources" },
        { "GET", "/studies/0a1b/module-patient", OP_LEVEL_READ, "resources" },
        { "GET", "/instances/0a1b/tags", OP_LEVEL_READ, "DICOM tags and files" },
        { "GET", "/instances/0a1b/file", OP_LEVEL_READ, "DICOM tags and files" },
        { "GET", "/instances/0a1b/content", OP_LEVEL_READ, "DICOM tags and files" },
        { "GET", "/instances/0a1b/content/0008-1140/0/0008-1155",
          OP_LEVEL_READ, "DICOM tags and files" },
        { "GET", "/instances/0a1b/frames/0/rendered", OP_LEVEL_READ, "images" },
        { "GET", "/instances/0a1b/frames/0/raw.gz", OP_LEVEL_READ, "images" },
        { "GET", "/series/0a1b/numpy", OP_LEVEL_READ, "images" },
        { "GET", "/studies/0a1b/archive", OP_LEVEL_READ, "archives and media" },
        { "POST", "/studies/0a1b/archive", OP_LEVEL_READ, "archives and media" },
        { "POST", "/patients/0a1b/media", OP_LEVEL_READ, "archives and media" },
        { "POST", "/tools/create-archive", OP_LEVEL_READ, "archives and media" },
        { "GET", "/tools/create-media-extended", OP_LEVEL_READ, "archives and media" },
        { "POST", "/tools/find", OP_LEVEL_READ, "search" },
        { "POST", "/tools/lookup", OP_LEVEL_READ, "search" },
        { "POST", "/tools/count-resources", OP_LEVEL_READ, "search" },
        { "POST", "/tools/bulk-content", OP_LEVEL_READ, "bulk operations (reading)" },
        { "GET", "/tools/labels", OP_LEVEL_READ, "labels" },
        { "GET", "/studies/0a1b/labels/urgent", OP_LEVEL_READ, "labels" },
        { "GET", "/series/0a1b/metadata/LastUpdate", OP_LEVEL_READ, "metadata" },
        { "GET", "/instances/0a1b/attachments/dicom/data", OP_LEVEL_READ, "attachments" },
        { "POST", "/instances/0a1b/attachments/dicom/verify-md5",
          OP_LEVEL_READ, "attachments" },
        { "GET", "/changes", OP_LEVEL_READ, "changes and exports logs" },
        { "GET", "/jobs/6f2a", OP_LEVEL_READ, "a job by its ID" },
        { "GET", "/jobs/6f2a/archive", OP_LEVEL_READ, "a job by its ID" },
        { "GET", "/queries/6f2a/answers/0/content", OP_LEVEL_READ, "DICOM query results" },
        { "GET", "/storage-commitment/6f2a", OP_LEVEL_READ, NULL },
        { "GET", "/dicom-web/studies", OP_LEVEL_READ, "DICOMweb QIDO/WADO" },
        { "GET", "/dicom-web/studies/1.2.3", OP_LEVEL_READ, "DICOMweb QIDO/WADO" },
        { "GET", "/dicom-web/studies/1.2/series/1.3/instances/1.4/frames/1,2",
          OP_LEVEL_READ, "DICOMweb QIDO/WADO" },
        { "GET", "/dicom-web/studies/1.2/series/1.3/instances/1.4/bulk/7FE00010",
          OP_LEVEL_READ, "DICOMweb QIDO/WADO" },
        { "GET", "/dicom-web/studies/1.2/series/1.3/metadata",
          OP_LEVEL_READ, "DICOMweb QIDO/WADO" },
        { "GET", "/wado", OP_LEVEL_READ, "DICOMweb WADO-URI" },
        { "GET", "/dicom-web/app/client/index.html", OP_LEVEL_READ,
          "DICOMweb client (web UI)" },
        { "GET", "/", OP_LEVEL_READ, "web UI" },
        { "GET", "/favicon.ico", OP_LEVEL_READ, "web UI" },
        { "GET", "/app/explorer.html", OP_LEVEL_READ, "web UI" },
        { "GET", "/app/libs/jquery.min.js", OP_LEVEL_READ, "web UI" },
        { "GET", "/plugins/explorer.js", OP_LEVEL_READ, "web UI" },
        { "GET", "/ui/app/", OP_LEVEL_READ, "web UI" },
        { "GET", "/ui/app/assets/index.js", OP_LEVEL_READ, "web UI" },
        { "GET", "/ui/api/configuration", OP_LEVEL_READ, "web UI" },
        { NULL, NULL, OP_LEVEL_UNSET, NULL }
    };
    check_expectations(e);
}
END_TEST

START_TEST(storing_routes_need_upload)
{
    static const expectation e[] = {
        { "POST", "/instances", OP_LEVEL_UPLOAD, "storing DICOM files" },
        { "POST", "/tools/create-dicom", OP_LEVEL_UPLOAD, "storing DICOM files" },
        { "POST", "/dicom-web/studies", OP_LEVEL_UPLOAD, "DICOMweb STOW-RS" },
        { "POST", "/dicom-web/studies/1.2.3", OP_LEVEL_UPLOAD, "DICOMweb STOW-RS" },
        { NULL, NULL, OP_LEVEL_UNSET, NULL }
    };
    check_expectations(e);
}
END_TEST

START_TEST(changing_routes_need_modify)
{
    static const expectation e[] = {
        { "DELETE", "/patients/0a1b", OP_LEVEL_MODIFY, "deleting resources" },
        { "DELETE", "/instances/0a1b", OP_LEVEL_MODIFY, "deleting resources" },
        { "POST", "/tools/bulk-delete", OP_LEVEL_MODIFY, "deleting resources" },
        { "POST", "/studies/0a1b/modify", OP_LEVEL_MODIFY, "modification and anonymization" },
        { "POST", "/instances/0a1b/anonymize", OP_LEVEL_MODIFY,
          "modification and anonymization" },
        { "POST", "/tools/bulk-modify", OP_LEVEL_MODIFY, "modification and anonymization" },
        { "POST", "/tools/bulk-anonymize", OP_LEVEL_MODIFY,
          "modification and anonymization" },
        { "PUT", "/studies/0a1b/labels/urgent", OP_LEVEL_MODIFY, "labels" },
        { "DELETE", "/instances/0a1b/labels/urgent", OP_LEVEL_MODIFY, "labels" },
        { "PUT", "/patients/0a1b/metadata/1024", OP_LEVEL_MODIFY, "metadata" },
        { "DELETE", "/series/0a1b/metadata/1024", OP_LEVEL_MODIFY, "metadata" },
        { "PUT", "/studies/0a1b/attachments/1025", OP_LEVEL_MODIFY, "attachments" },
        { "DELETE", "/studies/0a1b/attachments/1025", OP_LEVEL_MODIFY, "attachments" },
        { "POST", "/instances/0a1b/attachments/dicom/compress", OP_LEVEL_MODIFY,
          "attachments" },
        { "POST", "/instances/0a1b/attachments/dicom/uncompress", OP_LEVEL_MODIFY,
          "attachments" },
        { "PUT", "/patients/0a1b/protected", OP_LEVEL_MODIFY, "patient protection" },
        { "POST", "/studies/0a1b/merge", OP_LEVEL_MODIFY, "study merge and split" },
        { "POST", "/studies/0a1b/split", OP_LEVEL_MODIFY, "study merge and split" },
        { "POST", "/series/0a1b/reconstruct", OP_LEVEL_MODIFY, "reconstruction" },
        { "POST", "/studies/0a1b/update-dicomweb-cache", OP_LEVEL_MODIFY,
          "DICOMweb metadata cache" },
        { NULL, NULL, OP_LEVEL_UNSET, NULL }
    };
    check_expectations(e);
}
END_TEST

/* The routes that must never be reachable below admin. */
static const char *const DANGEROUS[] = {
    "POST", "/tools/execute-script",
    "POST", "/tools/shutdown",
    "POST", "/tools/reset",
    "POST", "/tools/reconstruct",
    "POST", "/tools/invalidate-tags",
    "POST", "/tools/dicom-echo",
    "PUT", "/tools/log-level",
    "PUT", "/tools/log-level-dicom",
    "PUT", "/tools/log-level-plugins",
    "PUT", "/tools/default-encoding",
    "PUT", "/tools/metrics",
    "PUT", "/tools/accepted-transfer-syntaxes",
    "PUT", "/tools/unknown-sop-class-accepted",
    "POST", "/instances/0a1b/export",
    "GET", "/modalities",
    "GET", "/modalities/pacs",
    "GET", "/modalities/pacs/configuration",
    "PUT", "/modalities/pacs",
    "DELETE", "/modalities/pacs",
    "POST", "/modalities/pacs/echo",
    "POST", "/modalities/pacs/store",
    "POST", "/modalities/pacs/store-straight",
    "POST", "/modalities/pacs/move",
    "POST", "/modalities/pacs/get",
    "POST", "/modalities/pacs/query",
    "POST", "/modalities/pacs/find-study",
    "POST", "/modalities/pacs/find-worklist",
    "POST", "/modalities/pacs/storage-commitment",
    "GET", "/peers",
    "GET", "/peers/other/system",
    "PUT", "/peers/other",
    "DELETE", "/peers/other",
    "POST", "/peers/other/store",
    "POST", "/peers/other/store-straight",
    "POST", "/queries/6f2a/retrieve",
    "POST", "/queries/6f2a/answers/0/retrieve",
    "POST", "/queries/6f2a/answers/0/query-series",
    "DELETE", "/queries/6f2a",
    "POST", "/storage-commitment/6f2a/remove",
    "GET", "/dicom-web/servers",
    "GET", "/dicom-web/servers/remote",
    "PUT", "/dicom-web/servers/remote",
    "DELETE", "/dicom-web/servers/remote",
    "POST", "/dicom-web/servers/remote/stow",
    "POST", "/dicom-web/servers/remote/retrieve",
    "POST", "/dicom-web/servers/remote/get",
    "POST", "/dicom-web/servers/remote/qido",
    "POST", "/dicom-web/servers/remote/wado",
    "POST", "/dicom-web/servers/remote/delete",
    "POST", "/jobs/6f2a/cancel",
    "POST", "/jobs/6f2a/pause",
    "POST", "/jobs/6f2a/resume",
    "POST", "/jobs/6f2a/resubmit",
    "DELETE", "/jobs/6f2a",
    "DELETE", "/jobs/6f2a/archive",
    "DELETE", "/changes",
    "DELETE", "/exports",
    /* Everybody's jobs, exports and queries: they name modalities and
     * peers, like GET /modalities. */
    "GET", "/jobs",
    "GET", "/exports",
    "GET", "/queries",
    NULL
};

START_TEST(dangerous_routes_need_admin)
{
    const char *const *d;
    for (d = DANGEROUS; *d; d += 2) {
        const op_route *route = find(d[0], d[1]);
        /* Unknown is admin too, but every one of these is in the table. */
        ck_assert_msg(route != NULL, "%s %s: not in the table", d[0], d[1]);
        ck_assert_msg(route->level == OP_LEVEL_ADMIN, "%s %s: level %s",
                      d[0], d[1], op_level_name(route->level));
    }
    ck_assert_str_eq(find("POST", "/tools/execute-script")->family,
                     "server administration (Lua)");
    ck_assert_str_eq(find("POST", "/modalities/pacs/store")->family,
                     "DICOM networking");
    ck_assert_str_eq(find("POST", "/dicom-web/servers/remote/stow")->family,
                     "DICOMweb servers (outbound requests)");
}
END_TEST

START_TEST(head_is_looked_up_as_get)
{
    ck_assert_ptr_eq(find("HEAD", "/patients"), find("GET", "/patients"));
    ck_assert_ptr_eq(find("HEAD", "/modalities"), find("GET", "/modalities"));
    ck_assert_int_eq(level_of("HEAD", "/instances/0a1b/file"), OP_LEVEL_READ);
    /* No HEAD for a route that only has POST. */
    ck_assert_ptr_null(find("HEAD", "/tools/execute-script"));
}
END_TEST

START_TEST(unknown_routes_are_not_found)
{
    static const char *const unknown[] = {
        "GET", "/nothing-here",
        "GET", "/tools/execute-script",          /* POST only */
        "GET", "/tools/shutdown",
        "PUT", "/tools/find",
        "POST", "/patients/0a1b",
        "PATCH", "/patients/0a1b",
        "DELETE", "/patients",
        "OPTIONS", "/patients",
        "GET", "/patients/0a1b/not-a-route",
        "GET", "/patients/0a1b/attachments/dicom/not-a-route",
        "GET", "/instances/0a1b/frames/0/1",
        "GET", "/TOOLS/now",                     /* Orthanc is case sensitive */
        "GET", "/tools/log-level-unknown",
        "GET", "/webdav/",
        "PROPFIND", "/webdav/",
        "PUT", "/webdav/uploads/a.dcm",
        "GET", "/dicom-web",
        "DELETE", "/dicom-web/studies/1.2.3",
        "GET", "/dicom-web/studies/1.2.3/unknown",
        "GET", "/ui/api/emails/templates/share",
        "POST", "/ui/api/emails/send",
        "POST", "/app/explorer.html",
        "GET", "/stone-webviewer/index.html",    /* another plugin's route */
        "POST", "/jobs/6f2a/archive",
        NULL
    };
    const char *const *u;
    for (u = unknown; *u; u += 2) {
        const op_route *route = find(u[0], u[1]);
        ck_assert_msg(route == NULL, "%s %s: found '%s' %s", u[0], u[1],
                      route ? route->pattern : "", route ? op_level_name(route->level) : "");
    }
}
END_TEST

START_TEST(trailing_slashes_do_not_matter)
{
    ck_assert_ptr_eq(find("GET", "/patients/"), find("GET", "/patients"));
    ck_assert_ptr_eq(find("GET", "/studies/0a1b/"), find("GET", "/studies/0a1b"));
    ck_assert_int_eq(level_of("POST", "/tools/execute-script/"), OP_LEVEL_ADMIN);
    ck_assert_int_eq(level_of("POST", "/instances/"), OP_LEVEL_UPLOAD);
    ck_assert_int_eq(level_of("GET", "/modalities/"), OP_LEVEL_ADMIN);
    ck_assert_int_eq(level_of("GET", "/app/"), OP_LEVEL_READ);
    /* The canonical reading decides: doubled and dot segments vanish. */
    ck_assert_int_eq(level_of("POST", "//tools/./shutdown"), OP_LEVEL_ADMIN);
    ck_assert_int_eq(level_of("POST", "/patients/x/../../tools/reset"), OP_LEVEL_ADMIN);
    ck_assert_int_eq(level_of("POST", "/%74ools/execute-script"), OP_LEVEL_ADMIN);
}
END_TEST

START_TEST(lookup_starts_below_the_prefix)
{
    op_path path = test_path("/orthanc/tools/reset");
    const op_route *route = op_route_find("POST", &path, 1);
    ck_assert_ptr_nonnull(route);
    ck_assert_int_eq(route->level, OP_LEVEL_ADMIN);
    ck_assert_ptr_null(op_route_find("POST", &path, 0));
    path = test_path("/orthanc/");
    route = op_route_find("GET", &path, 1);
    ck_assert_ptr_nonnull(route);
    ck_assert_str_eq(route->pattern, "/");
}
END_TEST

/* ------------------------------------------------ the table as a whole */

/* The segments of PATTERN (without the empty first one). */
static apr_array_header_t *segments_of(const char *pattern)
{
    apr_array_header_t *list = apr_array_make(test_pool, 8, sizeof(const char *));
    char *state, *segment = apr_strtok(apr_pstrdup(test_pool, pattern), "/", &state);
    for (; segment; segment = apr_strtok(NULL, "/", &state)) {
        APR_ARRAY_PUSH(list, const char *) = segment;
    }
    return list;
}

/* Whether some path matches both patterns (given as segment arrays from
 * index I and J on). */
static int patterns_overlap(const apr_array_header_t *a, int i,
                            const apr_array_header_t *b, int j)
{
    const char *x, *y;

    if (i == a->nelts && j == b->nelts) {
        return 1;
    }
    if ((i < a->nelts && strcmp(APR_ARRAY_IDX(a, i, const char *), "**") == 0)
        || (j < b->nelts && strcmp(APR_ARRAY_IDX(b, j, const char *), "**") == 0)) {
        return 1;
    }
    if (i == a->nelts || j == b->nelts) {
        return 0;
    }
    x = APR_ARRAY_IDX(a, i, const char *);
    y = APR_ARRAY_IDX(b, j, const char *);
    if (strcmp(x, "*") == 0 || strcmp(y, "*") == 0 || strcmp(x, y) == 0) {
        return patterns_overlap(a, i + 1, b, j + 1);
    }
    return 0;
}

static int methods_overlap(const char *a, const char *b)
{
    char *state, *m;

    if (strcmp(a, "*") == 0 || strcmp(b, "*") == 0) {
        return 1;
    }
    for (m = apr_strtok(apr_pstrdup(test_pool, a), ", \t", &state); m;
         m = apr_strtok(NULL, ", \t", &state)) {
        if (op_methods_include(b, m)) {
            return 1;
        }
    }
    return 0;
}

/* A path PATTERN matches, with sample values no literal of the table uses
 * for its stars; DEEP chooses what a final double star stands for. */
static const char *sample_path(const char *pattern, int deep)
{
    apr_array_header_t *segments = segments_of(pattern);
    const char *out = "";
    int i;

    for (i = 0; i < segments->nelts; i++) {
        const char *s = APR_ARRAY_IDX(segments, i, const char *);
        if (strcmp(s, "**") == 0) {
            s = deep ? "sample-a/sample-b" : NULL;
        }
        else if (strcmp(s, "*") == 0) {
            s = apr_psprintf(test_pool, "sample-%d", i);
        }
        if (s) {
            out = apr_pstrcat(test_pool, out, "/", s, NULL);
        }
    }
    return out[0] ? out : "/";
}

START_TEST(every_entry_is_well_formed)
{
    const op_route *route;
    int count = 0;

    for (route = op_route_table(); route->pattern; route++, count++) {
        ck_assert_msg(op_pattern_check(test_pool, route->pattern) == NULL,
                      "%s: %s", route->pattern,
                      op_pattern_check(test_pool, route->pattern));
        ck_assert_msg(op_methods_check(test_pool, route->methods) == NULL,
                      "%s: methods '%s'", route->pattern, route->methods);
        /* HEAD is looked up as GET: a HEAD in a list would never match. */
        ck_assert_msg(!op_methods_include(route->methods, "HEAD")
                      || strcmp(route->methods, "*") == 0,
                      "%s lists HEAD", route->pattern);
        ck_assert_msg(route->level >= OP_LEVEL_READ && route->level <= OP_LEVEL_ADMIN,
                      "%s: no level", route->pattern);
        ck_assert_msg(route->family && route->family[0], "%s: no family",
                      route->pattern);
        /* Lower levels never cover a method on every path. */
        ck_assert_msg(route->level == OP_LEVEL_ADMIN
                      || (strcmp(route->methods, "*") != 0
                          && strcmp(route->pattern, "/**") != 0),
                      "%s %s: a catch-all below admin", route->methods,
                      route->pattern);
    }
    ck_assert_int_gt(count, 100);
}
END_TEST

/* An earlier entry wins: one that overlaps a later entry must not need a
 * lower level than it, or it would lower that route's level for the paths
 * both match. */
START_TEST(no_entry_lowers_a_later_one)
{
    const op_route *table = op_route_table();
    const op_route *a, *b;

    for (b = table; b->pattern; b++) {
        apr_array_header_t *sb = segments_of(b->pattern);
        for (a = table; a < b; a++) {
            if (a->level < b->level && methods_overlap(a->methods, b->methods)
                && patterns_overlap(segments_of(a->pattern), 0, sb, 0)) {
                ck_abort_msg("%s %s (%s) comes first and lowers %s %s (%s)",
                             a->methods, a->pattern, op_level_name(a->level),
                             b->methods, b->pattern, op_level_name(b->level));
            }
        }
    }
}
END_TEST

/* Every entry decides some request: none is hidden by earlier ones. */
START_TEST(every_entry_is_reachable)
{
    static const char *const any[] = { "GET", "POST", "PUT", "DELETE", "PROPFIND", NULL };
    const op_route *route;

    for (route = op_route_table(); route->pattern; route++) {
        int deep;
        for (deep = 0; deep <= 1; deep++) {
            const char *raw = sample_path(route->pattern, deep);
            char *state, *method;

            if (strcmp(route->methods, "*") == 0) {
                const char *const *m;
                for (m = any; *m; m++) {
                    ck_assert_msg(find(*m, raw) == route, "%s %s is hidden", *m, raw);
                }
                continue;
            }
            for (method = apr_strtok(apr_pstrdup(test_pool, route->methods),
                                     ", \t", &state);
                 method; method = apr_strtok(NULL, ", \t", &state)) {
                const op_route *found = find(method, raw);
                ck_assert_msg(found == route, "%s %s is decided by %s %s",
                              method, raw, found ? found->methods : "nothing",
                              found ? found->pattern : "");
            }
        }
    }
}
END_TEST

Suite *route_table_suite(void)
{
    Suite *s = suite_create("route_table");
    TCase *tc = pooled_tcase("routes");

    tcase_add_test(tc, levels_have_names);
    tcase_add_test(tc, reading_routes_need_read);
    tcase_add_test(tc, storing_routes_need_upload);
    tcase_add_test(tc, changing_routes_need_modify);
    tcase_add_test(tc, dangerous_routes_need_admin);
    tcase_add_test(tc, head_is_looked_up_as_get);
    tcase_add_test(tc, unknown_routes_are_not_found);
    tcase_add_test(tc, trailing_slashes_do_not_matter);
    tcase_add_test(tc, lookup_starts_below_the_prefix);
    tcase_add_test(tc, every_entry_is_well_formed);
    tcase_add_test(tc, no_entry_lowers_a_later_one);
    tcase_add_test(tc, every_entry_is_reachable);
    suite_add_tcase(s, tc);
    return s;
}
