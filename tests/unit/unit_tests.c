/* SPDX-License-Identifier: Apache-2.0 */
/* Runs every Check suite of the pure logic. */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>

#include "unit_tests.h"

apr_pool_t *test_pool;

void test_pool_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&test_pool, NULL), APR_SUCCESS);
}

void test_pool_teardown(void)
{
    apr_pool_destroy(test_pool);
    test_pool = NULL;
}

TCase *pooled_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, test_pool_setup, test_pool_teardown);
    return tc;
}

op_path test_path(const char *raw)
{
    op_path path;
    ck_assert_msg(op_path_parse(test_pool, raw, strlen(raw), &path) == OP_PATH_OK,
                  "%s cannot be read", raw);
    return path;
}

int main(void)
{
    SRunner *runner;
    int failed;

    apr_initialize();
    runner = srunner_create(path_canon_suite());
    srunner_add_suite(runner, hex_suite());
    srunner_add_suite(runner, directive_args_suite());
    srunner_add_suite(runner, forward_headers_suite());
    srunner_add_suite(runner, header_names_suite());
    srunner_add_suite(runner, query_reading_suite());
    srunner_add_suite(runner, method_override_suite());
    srunner_add_suite(runner, json_error_suite());
    srunner_add_suite(runner, pattern_suite());
    srunner_add_suite(runner, route_table_suite());
    srunner_add_suite(runner, access_rules_suite());
    srunner_add_suite(runner, cors_policy_suite());
    srunner_add_suite(runner, httpd_version_suite());
    srunner_add_suite(runner, route_class_suite());
    srunner_add_suite(runner, traffic_counters_suite());
    srunner_add_suite(runner, status_report_suite());
    srunner_add_suite(runner, json_read_suite());
    srunner_add_suite(runner, cache_policy_suite());
    srunner_add_suite(runner, cache_key_suite());
    srunner_add_suite(runner, orthanc_changes_suite());
    srunner_add_suite(runner, audit_suite());
    srunner_add_suite(runner, generation_table_suite());
    srunner_add_suite(runner, change_cursor_suite());
    srunner_add_suite(runner, json_write_suite());
    srunner_add_suite(runner, study_rules_suite());
    srunner_add_suite(runner, study_refs_suite());
    srunner_add_suite(runner, study_query_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
