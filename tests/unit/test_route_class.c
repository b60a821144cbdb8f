/* SPDX-License-Identifier: Apache-2.0 */
/* Which member of a cluster a request must reach: route_class.c */
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"
#include "pattern.h"
#include "route_class.h"
#include "route_table.h"

static op_route_class classify(const char *method, const char *raw)
{
    op_path path = test_path(raw);
    return op_route_classify(method, &path, 0);
}

START_TEST(reads_go_anywhere)
{
    ck_assert_int_eq(classify("GET", "/studies"), OP_ROUTE_READ);
    ck_assert_int_eq(classify("HEAD", "/instances/x/file"), OP_ROUTE_READ);
    ck_assert_int_eq(classify("GET", "/studies/x/archive"), OP_ROUTE_READ);
    ck_assert_int_eq(classify("GET", "/dicom-web/studies"), OP_ROUTE_READ);
    ck_assert_int_eq(classify("POST", "/tools/find"), OP_ROUTE_READ);
    ck_assert_int_eq(classify("POST", "/tools/lookup"), OP_ROUTE_READ);
    ck_assert_int_eq(classify("POST", "/series/x/attachments/dicom/verify-md5"),
                     OP_ROUTE_READ);
}
END_TEST

START_TEST(changes_and_job_creators_are_writes)
{
    ck_assert_int_eq(classify("POST", "/instances"), OP_ROUTE_WRITE);
    ck_assert_int_eq(classify("DELETE", "/patients/x"), OP_ROUTE_WRITE);
    ck_assert_int_eq(classify("PUT", "/instances/x/metadata/y"), OP_ROUTE_WRITE);
    ck_assert_int_eq(classify("POST", "/dicom-web/studies"), OP_ROUTE_WRITE);
    /* These can answer {"ID": ..., "Path": "/jobs/..."}. */
    ck_assert_int_eq(classify("POST", "/studies/x/archive"), OP_ROUTE_WRITE);
    ck_assert_int_eq(classify("POST", "/tools/create-archive"), OP_ROUTE_WRITE);
    ck_assert_int_eq(classify("POST", "/studies/x/modify"), OP_ROUTE_WRITE);
    ck_assert_int_eq(classify("POST", "/modalities/x/store"), OP_ROUTE_WRITE);
    /* A POST nobody knows yet may start a job too. */
    ck_assert_int_eq(classify("POST", "/plugin/new"), OP_ROUTE_WRITE);
    /* find as a segment further down is not /tools/find. */
    ck_assert_int_eq(classify("POST", "/tools/find/x"), OP_ROUTE_WRITE);
}
END_TEST

START_TEST(jobs_and_queries_are_member_state)
{
    ck_assert_int_eq(classify("GET", "/jobs"), OP_ROUTE_MEMBER_STATE);
    ck_assert_int_eq(classify("GET", "/jobs/abc"), OP_ROUTE_MEMBER_STATE);
    ck_assert_int_eq(classify("GET", "/jobs/abc/archive"), OP_ROUTE_MEMBER_STATE);
    ck_assert_int_eq(classify("POST", "/jobs/abc/cancel"), OP_ROUTE_MEMBER_STATE);
    ck_assert_int_eq(classify("GET", "/queries/abc/answers"),
                     OP_ROUTE_MEMBER_STATE);
    ck_assert_int_eq(classify("GET", "/jobsx"), OP_ROUTE_READ);
}
END_TEST

START_TEST(classes_are_read_below_the_prefix)
{
    op_path path = test_path("/orthanc/jobs/abc");
    ck_assert_int_eq(op_route_classify("GET", &path, 1), OP_ROUTE_MEMBER_STATE);
    ck_assert_int_eq(op_route_classify("GET", &path, 0), OP_ROUTE_READ);
}
END_TEST

/* A path that PATTERN matches: every star made a segment. */
static const char *instance_of(const char *pattern)
{
    char *copy = apr_pstrdup(test_pool, pattern), *star;
    while ((star = strchr(copy, '*')) != NULL) {
        int two = star[1] == '*';
        *star = '\0';
        copy = apr_pstrcat(test_pool, copy, "x", star + (two ? 2 : 1), NULL);
    }
    return copy;
}

START_TEST(every_read_level_post_either_queries_or_creates_archives)
{
    const op_route *route;

    for (route = op_route_table(); route->pattern; route++) {
        op_route_class cls;
        if (route->level != OP_LEVEL_READ
            || !op_methods_include(route->methods, "POST")) {
            continue;
        }
        cls = classify("POST", instance_of(route->pattern));
        if (strcmp(route->family, "archives and media") == 0) {
            ck_assert_msg(cls == OP_ROUTE_WRITE, "POST %s can start a job",
                          route->pattern);
        }
        else {
            ck_assert_msg(cls == OP_ROUTE_READ, "POST %s (%s) only queries: "
                          "list it in route_class.c", route->pattern,
                          route->family);
        }
    }
}
END_TEST

START_TEST(classes_have_names)
{
    ck_assert_str_eq(op_route_class_name(OP_ROUTE_WRITE), "write");
    ck_assert_str_eq(op_route_class_name(OP_ROUTE_MEMBER_STATE), "member state");
}
END_TEST

Suite *route_class_suite(void)
{
    Suite *s = suite_create("route_class");
    TCase *tc = pooled_tcase("classes");
    tcase_add_test(tc, reads_go_anywhere);
    tcase_add_test(tc, changes_and_job_creators_are_writes);
    tcase_add_test(tc, jobs_and_queries_are_member_state);
    tcase_add_test(tc, classes_are_read_below_the_prefix);
    tcase_add_test(tc, every_read_level_post_either_queries_or_creates_archives);
    tcase_add_test(tc, classes_have_names);
    suite_add_tcase(s, tc);
    return s;
}
