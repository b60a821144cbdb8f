/* SPDX-License-Identifier: Apache-2.0 */
/* The httpd releases the module accepts: httpd_version.c */
#include "unit_tests.h"
#include "httpd_version.h"

START_TEST(releases_before_2_4_54_are_refused)
{
    /* 2.4.53 runs mod_proxy's fixups before the hop-by-hop clean-up. */
    ck_assert(!op_httpd_version_supported(2, 4, 53));
    ck_assert(!op_httpd_version_supported(2, 4, 51));
    ck_assert(!op_httpd_version_supported(2, 2, 99));
    ck_assert(!op_httpd_version_supported(1, 9, 99));
}
END_TEST

START_TEST(releases_from_2_4_54_on_are_accepted)
{
    ck_assert(op_httpd_version_supported(2, 4, 54));
    ck_assert(op_httpd_version_supported(2, 4, 71));
    ck_assert(op_httpd_version_supported(2, 5, 0));
    ck_assert(op_httpd_version_supported(3, 0, 0));
}
END_TEST

Suite *httpd_version_suite(void)
{
    Suite *s = suite_create("httpd_version");
    TCase *tc = pooled_tcase("releases");

    tcase_add_test(tc, releases_before_2_4_54_are_refused);
    tcase_add_test(tc, releases_from_2_4_54_on_are_accepted);
    suite_add_tcase(s, tc);
    return s;
}
