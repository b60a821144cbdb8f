/* SPDX-License-Identifier: Apache-2.0 */
/* Which answers are cached, and what makes them fresh: cache_policy.c */
#include <string.h>
#include "unit_tests.h"
#include "cache_policy.h"

#define I "f689ddd2-662f8fe1-8b18180d-ec2a2cee-937917af"
#define UID "1.2.840.113619.2.55.3"

typedef struct {
    const char *path;
    op_cache_class cls;
    op_scope_kind kind;
    const char *id;
} expectation;

static const expectation ROUTES[] = {
    /* Instance-addressed content. */
    { "/instances/" I "/file", OP_CACHE_CONTENT, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/preview", OP_CACHE_CONTENT, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/frames/0/rendered", OP_CACHE_CONTENT, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/tags", OP_CACHE_CONTENT, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/content/0010-0010", OP_CACHE_CONTENT, OP_SCOPE_INSTANCE, I },
    { "/instances/" I, OP_CACHE_AGGREGATE, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/metadata/Sample", OP_CACHE_AGGREGATE, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/attachments/dicom/data", OP_CACHE_AGGREGATE, OP_SCOPE_INSTANCE, I },
    { "/instances/" I "/statistics", OP_CACHE_AGGREGATE, OP_SCOPE_INSTANCE, I },
    /* Aggregates of a resource. */
    { "/series/" I, OP_CACHE_AGGREGATE, OP_SCOPE_SERIES, I },
    { "/series/" I "/instances", OP_CACHE_AGGREGATE, OP_SCOPE_SERIES, I },
    { "/series/" I "/ordered-slices", OP_CACHE_AGGREGATE, OP_SCOPE_SERIES, I },
    { "/studies/" I "/series", OP_CACHE_AGGREGATE, OP_SCOPE_STUDY, I },
    { "/patients/" I "/studies", OP_CACHE_AGGREGATE, OP_SCOPE_PATIENT, I },
    { "/patients/" I, OP_CACHE_AGGREGATE, OP_SCOPE_PATIENT, I },
    /* Answers about the whole archive, or a parent the URL does not name. */
    { "/patients", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    { "/instances", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    { "/instances/" I "/series", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    { "/series/" I "/study", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    { "/studies/" I "/patient", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    { "/dicom-web/studies", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    { "/dicom-web/series", OP_CACHE_AGGREGATE, OP_SCOPE_LISTS, NULL },
    /* DICOMweb: addressed by UIDs. */
    { "/dicom-web/studies/" UID, OP_CACHE_AGGREGATE, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/" UID "/series", OP_CACHE_AGGREGATE, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/" UID "/metadata", OP_CACHE_AGGREGATE, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/1/series/" UID "/metadata", OP_CACHE_AGGREGATE, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/1/series/" UID "/instances", OP_CACHE_AGGREGATE, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/1/series/2/instances/" UID, OP_CACHE_CONTENT, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/1/series/2/instances/" UID "/frames/1", OP_CACHE_CONTENT, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/1/series/2/instances/" UID "/bulk/7fe00010", OP_CACHE_CONTENT, OP_SCOPE_UID, UID },
    { "/dicom-web/studies/1/series/2/instances/" UID "/metadata", OP_CACHE_CONTENT, OP_SCOPE_UID, UID },
    { NULL, OP_CACHE_NEVER, OP_SCOPE_NONE, NULL }
};

static const char *const NEVER[] = {
    "/", "/system", "/statistics", "/changes", "/jobs/x", "/tools/now",
    "/tools/generate-uid", "/app/explorer.html", "/plugins",
    "/studies/" I "/archive", "/series/" I "/media", "/patients/" I "/protected",
    "/instances/" I "/unknown-plugin-route", "/instances/" I "/numpy/x",
    "/instances/a%20b/file", "/instances/" I I I "/file",    /* not an ID */
    "/dicom-web/info", "/dicom-web/servers", "/dicom-web/app/client/index.html",
    "/dicom-web/studies/1/unknown", "/dicom-web/studies/1/series/2/unknown",
    "/wado", "/modalities", "/queries/x/answers",
    NULL
};

START_TEST(cacheable_routes_and_their_scopes)
{
    const expectation *e;
    for (e = ROUTES; e->path; e++) {
        op_path path = test_path(e->path);
        op_cache_route route = op_cache_classify(&path, 0);
        ck_assert_msg(route.cls == e->cls, "%s: class %d", e->path, route.cls);
        ck_assert_msg(route.scope.kind == e->kind, "%s: scope %d", e->path,
                      route.scope.kind);
        if (e->id) {
            ck_assert_str_eq(route.scope.id, e->id);
        }
        else {
            ck_assert_ptr_null(route.scope.id);
        }
    }
}
END_TEST

START_TEST(everything_else_goes_to_orthanc)
{
    const char *const *raw;
    for (raw = NEVER; *raw; raw++) {
        op_path path = test_path(*raw);
        ck_assert_msg(op_cache_classify(&path, 0).cls == OP_CACHE_NEVER,
                      "%s is cached", *raw);
    }
}
END_TEST

START_TEST(classifies_below_the_prefix)
{
    op_path path = test_path("/pacs/orthanc/instances/" I "/preview");
    op_cache_route route = op_cache_classify(&path, 2);
    ck_assert_int_eq(route.cls, OP_CACHE_CONTENT);
    ck_assert_str_eq(route.scope.id, I);
    ck_assert_int_eq(op_cache_classify(&path, 5).cls, OP_CACHE_NEVER);
}
END_TEST

/* Orthanc >= 1.12 shows labels in resources and lists of resources, and
 * does not log their changes (measured on 1.13.0). */
START_TEST(answers_that_show_labels_are_marked)
{
    static const char *const SHOW[] = {
        "/instances/" I, "/series/" I, "/studies/" I, "/patients/" I,
        "/patients", "/studies", "/instances/" I "/series",
        "/series/" I "/study", "/studies/" I "/series",
        "/series/" I "/instances", "/patients/" I "/instances",
        "/instances/" I "/labels", "/studies/" I "/labels/x", NULL
    };
    static const char *const HIDE[] = {
        "/instances/" I "/file", "/instances/" I "/tags",
        "/instances/" I "/metadata/x", "/series/" I "/shared-tags",
        "/series/" I "/ordered-slices", "/instances/" I "/statistics",
        "/dicom-web/studies", "/dicom-web/studies/" UID "/metadata", NULL
    };
    const char *const *raw;

    for (raw = SHOW; *raw; raw++) {
        op_path path = test_path(*raw);
        op_cache_route route = op_cache_classify(&path, 0);
        ck_assert_msg(route.cls == OP_CACHE_AGGREGATE && route.shows_labels,
                      "%s: class %d, labels %d", *raw, route.cls,
                      route.shows_labels);
    }
    for (raw = HIDE; *raw; raw++) {
        op_path path = test_path(*raw);
        op_cache_route route = op_cache_classify(&path, 0);
        ck_assert_msg(route.cls != OP_CACHE_NEVER && !route.shows_labels,
                      "%s: class %d, labels %d", *raw, route.cls,
                      route.shows_labels);
    }
}
END_TEST

static op_cache_bump bump(const char *method, const char *raw)
{
    op_path path = test_path(raw);
    return op_cache_bump_for(method, &path, 0);
}

START_TEST(changes_through_the_proxy)
{
    op_cache_bump b;

    /* Reads change nothing, POST queries neither. */
    b = bump("GET", "/instances/" I "/file");
    ck_assert(!b.everything && !b.lists && b.scope.kind == OP_SCOPE_NONE);
    b = bump("POST", "/tools/find");
    ck_assert(!b.everything && !b.lists);
    /* Uploads: the lists at once, the parents from the change log. */
    b = bump("POST", "/instances");
    ck_assert(!b.everything && b.lists && b.scope.kind == OP_SCOPE_NONE);
    b = bump("POST", "/dicom-web/studies");
    ck_assert(!b.everything && b.lists);
    /* Metadata, labels, attachments: the resource. */
    b = bump("PUT", "/instances/" I "/metadata/Sample");
    ck_assert(!b.everything && b.lists);
    ck_assert_int_eq(b.scope.kind, OP_SCOPE_INSTANCE);
    ck_assert_str_eq(b.scope.id, I);
    b = bump("DELETE", "/series/" I "/labels/x");
    ck_assert(!b.everything && b.lists);
    ck_assert_int_eq(b.scope.kind, OP_SCOPE_SERIES);
    b = bump("PUT", "/patients/" I "/protected");
    ck_assert_int_eq(b.scope.kind, OP_SCOPE_PATIENT);
    /* Deletions, modifications, administration, unknown routes. */
    ck_assert(bump("DELETE", "/instances/" I).everything);
    ck_assert(bump("POST", "/studies/" I "/modify").everything);
    ck_assert(bump("POST", "/tools/bulk-delete").everything);
    ck_assert(bump("POST", "/tools/execute-script").everything);
    ck_assert(bump("POST", "/plugin/x").everything);
}
END_TEST

START_TEST(scope_ids_are_plain)
{
    ck_assert(op_scope_id_is_plain(I));
    ck_assert(op_scope_id_is_plain(UID));
    ck_assert(!op_scope_id_is_plain(""));
    ck_assert(!op_scope_id_is_plain("a:b"));
    ck_assert(!op_scope_id_is_plain("a b"));
    ck_assert(!op_scope_id_is_plain(I I));
    ck_assert_int_eq(op_scope_letter(OP_SCOPE_INSTANCE), 'i');
    ck_assert_int_eq(op_scope_letter(OP_SCOPE_LISTS), 'l');
    ck_assert_int_eq(op_scope_letter(OP_SCOPE_UID), 'u');
}
END_TEST

Suite *cache_policy_suite(void)
{
    Suite *s = suite_create("cache_policy");
    TCase *tc = pooled_tcase("routes");

    tcase_add_test(tc, cacheable_routes_and_their_scopes);
    tcase_add_test(tc, everything_else_goes_to_orthanc);
    tcase_add_test(tc, classifies_below_the_prefix);
    tcase_add_test(tc, answers_that_show_labels_are_marked);
    tcase_add_test(tc, changes_through_the_proxy);
    tcase_add_test(tc, scope_ids_are_plain);
    suite_add_tcase(s, tc);
    return s;
}
