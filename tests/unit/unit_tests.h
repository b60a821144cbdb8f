/* SPDX-License-Identifier: Apache-2.0 */
/* Check suites of the pure logic, one per source file. */
#ifndef ORTHANC_PROXY_UNIT_TESTS_H
#define ORTHANC_PROXY_UNIT_TESTS_H

#include <check.h>
#include <apr_pools.h>
#include "path_canon.h"

/* A pool created before and destroyed after every test. */
extern apr_pool_t *test_pool;
void test_pool_setup(void);
void test_pool_teardown(void);

/* A test case that runs with test_pool. */
TCase *pooled_tcase(const char *name);

/* RAW read as Orthanc would (path_canon.c); the test fails if it cannot be. */
op_path test_path(const char *raw);

Suite *path_canon_suite(void);
Suite *hex_suite(void);
Suite *directive_args_suite(void);
Suite *forward_headers_suite(void);
Suite *header_names_suite(void);
Suite *query_reading_suite(void);
Suite *method_override_suite(void);
Suite *json_error_suite(void);
Suite *pattern_suite(void);
Suite *route_table_suite(void);
Suite *access_rules_suite(void);
Suite *cors_policy_suite(void);
Suite *httpd_version_suite(void);
Suite *route_class_suite(void);
Suite *traffic_counters_suite(void);
Suite *status_report_suite(void);
Suite *json_read_suite(void);
Suite *cache_policy_suite(void);
Suite *cache_key_suite(void);
Suite *orthanc_changes_suite(void);
Suite *audit_suite(void);
Suite *generation_table_suite(void);
Suite *change_cursor_suite(void);
Suite *json_write_suite(void);
Suite *study_rules_suite(void);
Suite *study_refs_suite(void);
Suite *study_query_suite(void);

#endif
