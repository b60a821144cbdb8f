/* SPDX-License-Identifier: Apache-2.0 */
/* Hexadecimal digits: hex.c */
#include "unit_tests.h"
#include "hex.h"

START_TEST(hex_digits_have_their_value_in_either_case)
{
    ck_assert_int_eq(op_hex_value('0'), 0);
    ck_assert_int_eq(op_hex_value('9'), 9);
    ck_assert_int_eq(op_hex_value('a'), 10);
    ck_assert_int_eq(op_hex_value('A'), 10);
    ck_assert_int_eq(op_hex_value('f'), 15);
    ck_assert_int_eq(op_hex_value('F'), 15);
}
END_TEST

START_TEST(other_bytes_are_not_digits)
{
    /* The neighbours of each range, and bytes a signed char would get
     * wrong. */
    static const unsigned char others[] = {
        '/', ':', '@', 'G', '`', 'g', 'v', '%', ' ', 0, 0x7f, 0x80, 0xff
    };
    apr_size_t i;

    for (i = 0; i < sizeof(others); i++) {
        ck_assert_int_eq(op_hex_value(others[i]), -1);
    }
}
END_TEST

Suite *hex_suite(void)
{
    Suite *s = suite_create("hex");
    TCase *tc = tcase_create("digits");

    tcase_add_test(tc, hex_digits_have_their_value_in_either_case);
    tcase_add_test(tc, other_bytes_are_not_digits);
    suite_add_tcase(s, tc);
    return s;
}
