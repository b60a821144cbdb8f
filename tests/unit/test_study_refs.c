/* SPDX-License-Identifier: Apache-2.0 */
/* Where a request names its studies: study_refs.c */
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"
#include "route_table.h"
#include "study_refs.h"

#define ID "8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d"
#define UID "1.2.840.113619.2.1"

static op_study_refs classify(const char *method, const char *path)
{
    op_path p = test_path(path);
    return op_study_refs_classify(test_pool, method, &p, 0);
}

START_TEST(every_family_of_the_route_table_has_a_decision)
{
    const op_route *route;

    for (route = op_route_table(); route->pattern; route++) {
        /* A path the pattern matches: each star an Orthanc ID, which is
         * also a segment any name may be; below /dicom-web a UID. */
        const char *star = strncmp(route->pattern, "/dicom-web", 10) == 0
                           ? UID : ID;
        const char *path = "", *c = route->pattern, *method;
        op_study_refs refs;

        while (*c) {
            if (strncmp(c, "/**", 3) == 0) {
                break;
            }
            if (*c == '*') {
                path = apr_pstrcat(test_pool, path, star, NULL);
            }
            else {
                path = apr_pstrcat(test_pool, path,
                                   apr_pstrndup(test_pool, c, 1), NULL);
            }
            c++;
        }
        if (*path == '\0') {
            path = "/";
        }
        method = strcmp(route->methods, "*") == 0 ? "GET" : route->methods;
        method = apr_pstrndup(test_pool, method, strcspn(method, ","));
        refs = classify(method, path);
        ck_assert_msg(refs.family_known, "%s %s (%s) has no study decision",
                      method, path, route->family);
        ck_assert_msg(refs.kind != OP_REFS_REFUSED || refs.why,
                      "%s %s is refused without a reason", method, path);
    }
}
END_TEST

START_TEST(resources_in_paths)
{
    op_study_refs r = classify("GET", "/instances/" ID "/frames/0/rendered");
    ck_assert_int_eq(r.kind, OP_REFS_RESOURCE);
    ck_assert_int_eq(r.level, OP_RESOURCE_INSTANCE);
    ck_assert_str_eq(r.id, ID);
    ck_assert(!r.patient_wide);

    r = classify("GET", "/series/" ID "/patient");
    ck_assert_int_eq(r.kind, OP_REFS_RESOURCE);
    ck_assert(r.patient_wide);
    r = classify("GET", "/patients/" ID "/archive");
    ck_assert(r.patient_wide);
    r = classify("POST", "/studies/" ID "/archive");
    ck_assert(r.may_start_job);
    r = classify("DELETE", "/patients/" ID);
    ck_assert_int_eq(r.kind, OP_REFS_RESOURCE);
    ck_assert(r.patient_wide);

    r = classify("PUT", "/studies/" ID "/labels/research");
    ck_assert_int_eq(r.kind, OP_REFS_RESOURCE);
    ck_assert_str_eq(r.label, "research");
    r = classify("GET", "/studies/" ID "/labels/research");
    ck_assert_ptr_null(r.label);

    r = classify("POST", "/studies/" ID "/modify");
    ck_assert_int_eq(r.body, OP_BODY_CHANGES);
    r = classify("POST", "/studies/" ID "/merge");
    ck_assert_int_eq(r.body, OP_BODY_MERGE);
    r = classify("POST", "/studies/" ID "/split");
    ck_assert_int_eq(r.body, OP_BODY_SPLIT);

    /* Not an Orthanc ID: nothing to attribute. */
    r = classify("GET", "/studies/x");
    ck_assert_int_eq(r.kind, OP_REFS_REFUSED);
    r = classify("GET", "/studies/" ID "x/series");
    ck_assert_int_eq(r.kind, OP_REFS_REFUSED);
}
END_TEST

START_TEST(dicomweb_uids)
{
    op_study_refs r = classify("GET", "/dicom-web/studies/" UID "/series/1.2/"
                               "instances/1.3/frames/1");
    ck_assert_int_eq(r.kind, OP_REFS_DICOMWEB);
    ck_assert_str_eq(r.study_uid, UID);
    ck_assert_str_eq(r.series_uid, "1.2");
    ck_assert_str_eq(r.instance_uid, "1.3");
    r = classify("GET", "/dicom-web/studies/" UID "/metadata");
    ck_assert_int_eq(r.kind, OP_REFS_DICOMWEB);
    ck_assert_ptr_null(r.series_uid);
    /* A pattern or a list where a UID goes. */
    r = classify("GET", "/dicom-web/studies/1.2*/metadata");
    ck_assert_int_eq(r.kind, OP_REFS_REFUSED);
    r = classify("GET", "/dicom-web/studies/1.2%5C1.3/metadata");
    ck_assert_int_eq(r.kind, OP_REFS_REFUSED);
    r = classify("GET", "/dicom-web/studies/" UID "/series/1.2,1.3/metadata");
    ck_assert_int_eq(r.kind, OP_REFS_REFUSED);

    r = classify("GET", "/dicom-web/studies");
    ck_assert_int_eq(r.kind, OP_REFS_QIDO);
    ck_assert_int_eq(r.level, OP_RESOURCE_STUDY);
    r = classify("GET", "/dicom-web/instances");
    ck_assert_int_eq(r.level, OP_RESOURCE_INSTANCE);
    ck_assert_int_eq(classify("GET", "/wado").kind, OP_REFS_WADO_URI);
    ck_assert_int_eq(classify("POST", "/dicom-web/studies").kind,
                     OP_REFS_UPLOAD);
}
END_TEST

START_TEST(lists_searches_bodies_jobs)
{
    op_study_refs r = classify("GET", "/studies");
    ck_assert_int_eq(r.kind, OP_REFS_LIST);
    ck_assert_int_eq(r.level, OP_RESOURCE_STUDY);
    ck_assert_int_eq(classify("POST", "/tools/find").kind, OP_REFS_FIND);
    ck_assert_int_eq(classify("POST", "/tools/lookup").kind, OP_REFS_LOOKUP);
    ck_assert_int_eq(classify("POST", "/tools/count-resources").kind,
                     OP_REFS_COUNT);
    r = classify("POST", "/tools/create-archive");
    ck_assert_int_eq(r.kind, OP_REFS_BODY);
    ck_assert_int_eq(r.body, OP_BODY_RESOURCES);
    ck_assert(r.may_start_job);
    r = classify("GET", "/tools/create-media");
    ck_assert_int_eq(r.kind, OP_REFS_BODY);
    ck_assert_int_eq(r.body, OP_BODY_QUERY);
    ck_assert_int_eq(classify("POST", "/tools/bulk-delete").kind, OP_REFS_BODY);
    ck_assert_int_eq(classify("POST", "/tools/bulk-content").kind, OP_REFS_BODY);
    r = classify("GET", "/jobs/0b6d1b3c-4a3e-4a04-8c6e-123456789abc/archive");
    ck_assert_int_eq(r.kind, OP_REFS_JOB);
    ck_assert_str_eq(r.job, "0b6d1b3c-4a3e-4a04-8c6e-123456789abc");
    ck_assert_int_eq(classify("POST", "/instances").kind, OP_REFS_UPLOAD);
}
END_TEST

START_TEST(neutral_and_refused)
{
    ck_assert_int_eq(classify("GET", "/system").kind, OP_REFS_NEUTRAL);
    ck_assert_int_eq(classify("GET", "/app/explorer.html").kind,
                     OP_REFS_NEUTRAL);
    ck_assert_int_eq(classify("GET", "/tools/labels").kind, OP_REFS_NEUTRAL);
    ck_assert_int_eq(classify("GET", "/changes").kind, OP_REFS_REFUSED);
    ck_assert_int_eq(classify("GET", "/statistics").kind, OP_REFS_REFUSED);
    ck_assert_int_eq(classify("POST", "/modalities/x/store").kind,
                     OP_REFS_REFUSED);
    ck_assert_int_eq(classify("POST", "/tools/execute-script").kind,
                     OP_REFS_REFUSED);
    /* A route the table does not know. */
    ck_assert_int_eq(classify("GET", "/webdav/x").kind, OP_REFS_REFUSED);
}
END_TEST

Suite *study_refs_suite(void)
{
    Suite *s = suite_create("study_refs");
    TCase *tc = pooled_tcase("study_refs");
    tcase_add_test(tc, every_family_of_the_route_table_has_a_decision);
    tcase_add_test(tc, resources_in_paths);
    tcase_add_test(tc, dicomweb_uids);
    tcase_add_test(tc, lists_searches_bodies_jobs);
    tcase_add_test(tc, neutral_and_refused);
    suite_add_tcase(s, tc);
    return s;
}
