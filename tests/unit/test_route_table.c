/* Orthanc's routes and their levels: route_table.c */
#include <string.h>
#include "unit_tests.h"
#include "route_table.h"

START_TEST(levels_have_names)
{
    ck_assert_int_eq(op_level_parse("read"), OP_LEVEL_READ);
    ck_assert_int_eq(op_level_parse("ADMIN"), OP_LEVEL_ADMIN);
    ck_assert_int_eq(op_level_parse("root"), OP_LEVEL_UNSET);
    ck_assert_str_eq(op_level_name(OP_LEVEL_MODIFY), "modify");
}
END_TEST

Suite *route_table_suite(void)
{
    Suite *s = suite_create("route_table");
    TCase *tc = pooled_tcase("routes");

    tcase_add_test(tc, levels_have_names);
    suite_add_tcase(s, tc);
    return s;
}
