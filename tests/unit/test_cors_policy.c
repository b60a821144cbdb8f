/* SPDX-License-Identifier: Apache-2.0 */
/* Which other origins may call Orthanc: cors_policy.c */
#include <string.h>
#include <apr_tables.h>
#include "unit_tests.h"
#include "cors_policy.h"

static apr_array_header_t *origins(const char *first, const char *second)
{
    apr_array_header_t *list = apr_array_make(test_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(list, const char *) = first;
    if (second) {
        APR_ARRAY_PUSH(list, const char *) = second;
    }
    return list;
}

START_TEST(origins_are_checked)
{
    ck_assert_ptr_null(op_cors_origin_check(test_pool, "https://viewer.example"));
    ck_assert_ptr_null(op_cors_origin_check(test_pool, "http://10.0.0.5:8080"));
    ck_assert_ptr_null(op_cors_origin_check(test_pool, "https://[::1]:8443"));
    ck_assert_ptr_null(op_cors_origin_check(test_pool, "*"));
    ck_assert_ptr_nonnull(op_cors_origin_check(test_pool, "viewer.example"));
    ck_assert_ptr_nonnull(op_cors_origin_check(test_pool, "https://"));
    ck_assert_ptr_nonnull(op_cors_origin_check(test_pool, "https://v.example/app"));
    ck_assert_ptr_nonnull(op_cors_origin_check(test_pool, "null"));
    ck_assert_ptr_nonnull(op_cors_origin_check(test_pool, "file://x"));
}
END_TEST

START_TEST(listed_origins_match_exactly)
{
    apr_array_header_t *list = origins("https://viewer.example", "http://a:81");
    ck_assert(op_cors_origin_allowed(list, "https://viewer.example"));
    ck_assert(op_cors_origin_allowed(list, "HTTPS://Viewer.Example"));
    ck_assert(op_cors_origin_allowed(list, "http://a:81"));
    ck_assert(!op_cors_origin_allowed(list, "http://viewer.example"));
    ck_assert(!op_cors_origin_allowed(list, "https://viewer.example.evil"));
    ck_assert(!op_cors_origin_allowed(list, "http://a:8"));
    ck_assert(!op_cors_origin_allowed(list, NULL));
    ck_assert(!op_cors_is_wildcard(list));
}
END_TEST

START_TEST(the_wildcard_allows_any_origin_but_null)
{
    apr_array_header_t *list = origins("*", NULL);
    ck_assert(op_cors_origin_allowed(list, "https://anything.example"));
    ck_assert(!op_cors_origin_allowed(list, "null"));
    ck_assert(!op_cors_origin_allowed(list, ""));
    ck_assert(op_cors_is_wildcard(list));
    ck_assert(!op_cors_origin_allowed(NULL, "https://anything.example"));
}
END_TEST

START_TEST(proxy_owned_headers_cannot_be_requested)
{
    ck_assert_ptr_null(op_cors_refused_header(test_pool, "content-type, accept", NULL));
    ck_assert_ptr_null(op_cors_refused_header(test_pool, NULL, NULL));
    ck_assert_ptr_null(op_cors_refused_header(test_pool, " , ", NULL));
    ck_assert_str_eq(op_cors_refused_header(test_pool,
                         "content-type, x-http-method-override", NULL),
                     "x-http-method-override");
    ck_assert_str_eq(op_cors_refused_header(test_pool, "X-Forwarded-Host", NULL),
                     "X-Forwarded-Host");
    ck_assert_str_eq(op_cors_refused_header(test_pool, "x-remote-user",
                                            "X-Remote-User"),
                     "x-remote-user");
    ck_assert_str_eq(op_cors_refused_header(test_pool, "a b", NULL), "a b");
}
END_TEST

Suite *cors_policy_suite(void)
{
    Suite *s = suite_create("cors_policy");
    TCase *tc = pooled_tcase("origins and headers");

    tcase_add_test(tc, origins_are_checked);
    tcase_add_test(tc, listed_origins_match_exactly);
    tcase_add_test(tc, the_wildcard_allows_any_origin_but_null);
    tcase_add_test(tc, proxy_owned_headers_cannot_be_requested);
    suite_add_tcase(s, tc);
    return s;
}
