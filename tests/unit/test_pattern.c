/* SPDX-License-Identifier: Apache-2.0 */
/* Patterns over Orthanc paths and method lists: pattern.c */
#include <string.h>
#include "unit_tests.h"
#include "pattern.h"

static int matches(const char *pattern, const char *raw)
{
    op_path path = test_path(raw);
    return op_pattern_match(pattern, &path, 0);
}

START_TEST(literal_segments_match_exactly)
{
    ck_assert(matches("/tools/execute-script", "/tools/execute-script"));
    ck_assert(matches("/tools/execute-script", "/tools/execute-script/"));
    ck_assert(!matches("/tools/execute-script", "/tools/execute-scripts"));
    ck_assert(!matches("/tools/execute-script", "/TOOLS/execute-script"));
    ck_assert(!matches("/tools", "/tools/reset"));
    ck_assert(matches("/", "/"));
    ck_assert(!matches("/", "/patients"));
}
END_TEST

START_TEST(a_star_is_one_segment)
{
    ck_assert(matches("/patients/*/archive", "/patients/abc/archive"));
    ck_assert(!matches("/patients/*/archive", "/patients/archive"));
    ck_assert(!matches("/patients/*/archive", "/patients/a/b/archive"));
    ck_assert(matches("/patients/*", "/patients/abc"));
    ck_assert(!matches("/patients/*", "/patients"));
}
END_TEST

START_TEST(a_double_star_is_any_rest)
{
    ck_assert(matches("/dicom-web/**", "/dicom-web"));
    ck_assert(matches("/dicom-web/**", "/dicom-web/studies/1.2/series"));
    ck_assert(!matches("/dicom-web/**", "/dicom-webx"));
    ck_assert(matches("/**", "/"));
    ck_assert(matches("/**", "/anything/at/all"));
}
END_TEST

START_TEST(matching_starts_at_the_given_segment)
{
    op_path path = test_path("/orthanc/tools/reset");
    ck_assert(op_pattern_match("/tools/reset", &path, 1));
    ck_assert(!op_pattern_match("/tools/reset", &path, 0));
}
END_TEST

START_TEST(malformed_patterns_are_named)
{
    ck_assert_ptr_null(op_pattern_check(test_pool, "/patients/*/archive"));
    ck_assert_ptr_null(op_pattern_check(test_pool, "/dicom-web/**"));
    ck_assert_ptr_null(op_pattern_check(test_pool, "/"));
    ck_assert_ptr_null(op_pattern_check(test_pool, "/tools/"));
    ck_assert_ptr_nonnull(strstr(op_pattern_check(test_pool, "tools"), "start with '/'"));
    ck_assert_ptr_nonnull(strstr(op_pattern_check(test_pool, "/a//b"), "empty segment"));
    ck_assert_ptr_nonnull(strstr(op_pattern_check(test_pool, "/**/x"), "last segment"));
    ck_assert_ptr_nonnull(strstr(op_pattern_check(test_pool, "/a/../b"), "dot segment"));
    ck_assert_ptr_nonnull(strstr(op_pattern_check(test_pool, "/a%2f"), "contains '%'"));
    ck_assert_ptr_nonnull(strstr(op_pattern_check(test_pool, "/a*b"), "contains '*'"));
}
END_TEST

START_TEST(method_lists_are_checked_and_matched)
{
    ck_assert_ptr_null(op_methods_check(test_pool, "GET,POST"));
    ck_assert_ptr_null(op_methods_check(test_pool, "*"));
    ck_assert_ptr_null(op_methods_check(test_pool, "DELETE"));
    ck_assert_ptr_nonnull(op_methods_check(test_pool, "get"));
    ck_assert_ptr_nonnull(op_methods_check(test_pool, ""));
    ck_assert_ptr_nonnull(op_methods_check(test_pool, ","));

    ck_assert(op_methods_include("GET,POST", "POST"));
    ck_assert(op_methods_include("GET POST", "GET"));
    ck_assert(op_methods_include("*", "PROPFIND"));
    ck_assert(!op_methods_include("GET,POST", "PUT"));
    ck_assert(!op_methods_include("GETX", "GET"));
    ck_assert(!op_methods_include("GET", "GETX"));
}
END_TEST

Suite *pattern_suite(void)
{
    Suite *s = suite_create("pattern");
    TCase *tc = pooled_tcase("patterns");

    tcase_add_test(tc, literal_segments_match_exactly);
    tcase_add_test(tc, a_star_is_one_segment);
    tcase_add_test(tc, a_double_star_is_any_rest);
    tcase_add_test(tc, matching_starts_at_the_given_segment);
    tcase_add_test(tc, malformed_patterns_are_named);
    tcase_add_test(tc, method_lists_are_checked_and_matched);
    suite_add_tcase(s, tc);
    return s;
}
