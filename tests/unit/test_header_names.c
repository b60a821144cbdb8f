/* SPDX-License-Identifier: Apache-2.0 */
/* Header names the proxy owns: header_names.c */
#include "unit_tests.h"
#include "header_names.h"

START_TEST(header_names_match_across_case_underscores_and_blanks)
{
    ck_assert(op_header_names_match("x_forwarded_for", "X-Forwarded-For"));
    ck_assert(op_header_names_match("AUTHORIZATION", "Authorization"));
    ck_assert(op_header_names_match("X-Forwarded-For \t", "X-Forwarded-For"));
    ck_assert(!op_header_names_match("X-Forwarded-Fo", "X-Forwarded-For"));
    ck_assert(!op_header_names_match("X-Forwarded-Forx", "X-Forwarded-For"));
    ck_assert(!op_header_names_match(" X-Forwarded-For", "X-Forwarded-For"));
}
END_TEST

START_TEST(override_header_names_are_recognised)
{
    ck_assert(op_is_override_header("X-HTTP-Method-Override"));
    ck_assert(op_is_override_header("x_http_method"));
    ck_assert(op_is_override_header("X-Method-Override\t"));
    ck_assert(!op_is_override_header("X-HTTP-Method-Overrides"));
    ck_assert(!op_is_override_header("Content-Type"));
    ck_assert(!op_is_override_header(""));
}
END_TEST

START_TEST(proxy_owned_headers_are_recognised)
{
    ck_assert(op_is_proxy_owned_header("Forwarded", NULL));
    ck_assert(op_is_proxy_owned_header("x_forwarded_host ", NULL));
    ck_assert(op_is_proxy_owned_header("X-HTTP-Method", NULL));
    ck_assert(op_is_proxy_owned_header("X_Remote_User", "X-Remote-User"));
    ck_assert(!op_is_proxy_owned_header("X-Remote-User", NULL));
    ck_assert(!op_is_proxy_owned_header("Content-Type", "X-Remote-User"));
    ck_assert(!op_is_proxy_owned_header("Authorization", NULL));
}
END_TEST

Suite *header_names_suite(void)
{
    Suite *s = suite_create("header_names");
    TCase *tc = pooled_tcase("names");

    tcase_add_test(tc, header_names_match_across_case_underscores_and_blanks);
    tcase_add_test(tc, override_header_names_are_recognised);
    tcase_add_test(tc, proxy_owned_headers_are_recognised);
    suite_add_tcase(s, tc);
    return s;
}
