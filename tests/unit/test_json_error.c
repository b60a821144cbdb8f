/* SPDX-License-Identifier: Apache-2.0 */
/* JSON error bodies: json_error.c */
#include <string.h>
#include "unit_tests.h"
#include "json_error.h"

START_TEST(bodies_are_valid_json)
{
    ck_assert_str_eq(op_json_error(test_pool, 503, "Orthanc is unreachable", NULL),
                     "{\"status\": 503, \"message\": \"Orthanc is unreachable\"}\n");
    ck_assert_str_eq(op_json_error(test_pool, 403, "no", "deny POST /tools/**"),
                     "{\"status\": 403, \"message\": \"no\", \"rule\": \"deny POST /tools/**\"}\n");
}
END_TEST

START_TEST(strings_are_escaped)
{
    ck_assert_str_eq(op_json_error(test_pool, 400, "a\"b\\c\nd\x01", NULL),
                     "{\"status\": 400, \"message\": \"a\\\"b\\\\c\\u000ad\\u0001\"}\n");
    ck_assert_str_eq(op_json_error(test_pool, 400, NULL, NULL),
                     "{\"status\": 400, \"message\": \"\"}\n");
}
END_TEST

/* What a client sends can be any bytes: the body must stay UTF-8. */
START_TEST(client_bytes_keep_the_body_valid_utf8)
{
    /* Well-formed UTF-8 passes as it is. */
    ck_assert_str_eq(op_json_error(test_pool, 403, "/\xc3\xa9\xe2\x82\xac"
                                   "\xf0\x9f\x98\x80", NULL),
                     "{\"status\": 403, \"message\": \"/\xc3\xa9\xe2\x82\xac"
                     "\xf0\x9f\x98\x80\"}\n");
    /* A lone byte, a cut sequence, an overlong '/', a surrogate, a code
     * point above U+10FFFF and DEL. */
    ck_assert_str_eq(op_json_error(test_pool, 400, "\xff|\xc3|\xc0\xaf|"
                                   "\xed\xa0\x80|\xf4\x90\x80\x80|\x7f", NULL),
                     "{\"status\": 400, \"message\": \"\\ufffd|\\ufffd|"
                     "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
                     "\\ufffd\\ufffd\\ufffd\\ufffd|\\u007f\"}\n");
    /* A sequence cut by the end of the string. */
    ck_assert_str_eq(op_json_error(test_pool, 400, "a\xe2\x82", NULL),
                     "{\"status\": 400, \"message\": \"a\\ufffd\\ufffd\"}\n");
}
END_TEST

START_TEST(every_status_has_a_message)
{
    ck_assert_str_eq(op_default_error_message(503), "Orthanc is unreachable");
    ck_assert_str_eq(op_default_error_message(504), "Orthanc did not answer in time");
    ck_assert_ptr_nonnull(op_default_error_message(599));
    ck_assert_ptr_nonnull(op_default_error_message(499));
}
END_TEST

Suite *json_error_suite(void)
{
    Suite *s = suite_create("json_error");
    TCase *tc = pooled_tcase("bodies");

    tcase_add_test(tc, bodies_are_valid_json);
    tcase_add_test(tc, strings_are_escaped);
    tcase_add_test(tc, client_bytes_keep_the_body_valid_utf8);
    tcase_add_test(tc, every_status_has_a_message);
    suite_add_tcase(s, tc);
    return s;
}
