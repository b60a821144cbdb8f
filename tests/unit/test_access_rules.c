/* SPDX-License-Identifier: Apache-2.0 */
/* The access decision: access_rules.c */
#include <string.h>
#include "unit_tests.h"
#include "access_rules.h"

static apr_array_header_t *rules(const char *const *spec)
{
    apr_array_header_t *list = apr_array_make(test_pool, 4, sizeof(op_rule));
    for (; spec && *spec; spec += 3) {
        op_rule *rule = apr_array_push(list);
        ck_assert_ptr_null(op_rule_make(test_pool, strcmp(spec[0], "allow") == 0,
                                        spec[1], spec[2], rule));
    }
    return list;
}

static op_decision decide(op_level level, const char *const *spec,
                          const char *method, const char *raw)
{
    op_path path = test_path(raw);
    return op_decide(test_pool, level, rules(spec), method, &path, 0);
}

START_TEST(the_level_decides_known_routes)
{
    op_decision d = decide(OP_LEVEL_READ, NULL, "GET", "/patients");
    ck_assert(d.allowed);
    d = decide(OP_LEVEL_READ, NULL, "POST", "/tools/execute-script");
    ck_assert(!d.allowed);
    ck_assert_str_eq(d.rule, "OrthancProxyAccess read");
    ck_assert_ptr_nonnull(strstr(d.reason, "needs OrthancProxyAccess admin"));
    ck_assert(decide(OP_LEVEL_ADMIN, NULL, "POST", "/tools/execute-script").allowed);
}
END_TEST

START_TEST(unknown_routes_need_admin)
{
    op_decision d = decide(OP_LEVEL_MODIFY, NULL, "PROPFIND", "/webdav/");
    ck_assert(!d.allowed);
    ck_assert_ptr_nonnull(strstr(d.reason, "does not know"));
    ck_assert(decide(OP_LEVEL_ADMIN, NULL, "PROPFIND", "/webdav/").allowed);
}
END_TEST

START_TEST(the_default_level_is_modify)
{
    op_decision d = decide(OP_LEVEL_UNSET, NULL, "POST", "/tools/execute-script");
    ck_assert(!d.allowed);
    ck_assert_str_eq(d.rule, "OrthancProxyAccess modify");
}
END_TEST

START_TEST(deny_rules_win)
{
    static const char *const spec[] = {
        "allow", "*", "/tools/**",
        "deny", "GET,POST", "/tools/execute-script", NULL
    };
    op_decision d = decide(OP_LEVEL_ADMIN, spec, "POST", "/tools/execute-script");
    ck_assert(!d.allowed);
    ck_assert_str_eq(d.rule, "OrthancProxyDeny GET,POST /tools/execute-script");
    ck_assert(decide(OP_LEVEL_ADMIN, spec, "PUT", "/tools/execute-script").allowed);
}
END_TEST

START_TEST(allow_rules_reach_beyond_the_level)
{
    static const char *const spec[] = { "allow", "POST", "/tools/execute-script", NULL };
    op_decision d = decide(OP_LEVEL_READ, spec, "POST", "/tools/execute-script");
    ck_assert(d.allowed);
    ck_assert_str_eq(d.rule, "OrthancProxyAllow POST /tools/execute-script");
}
END_TEST

START_TEST(head_is_decided_as_get)
{
    static const char *const spec[] = { "deny", "GET", "/patients/**", NULL };
    ck_assert(!decide(OP_LEVEL_ADMIN, spec, "HEAD", "/patients/x").allowed);
}
END_TEST

START_TEST(require_lines_decide_like_the_level_and_say_so)
{
    static const char *const spec[] = {
        "allow", "GET", "/viewer/**",
        "deny", "DELETE", "/patients/**", NULL
    };
    op_path path = test_path("/patients/x");
    op_decision d = op_decide_require(test_pool, OP_LEVEL_READ, rules(spec),
                                      "DELETE", &path, 0);
    ck_assert(!d.allowed);
    ck_assert_str_eq(d.rule, "OrthancProxyDeny DELETE /patients/**");

    d = op_decide_require(test_pool, OP_LEVEL_UPLOAD, rules(spec), "DELETE",
                          (path = test_path("/studies/x"), &path), 0);
    ck_assert(!d.allowed);
    ck_assert_str_eq(d.rule, "Require orthanc-access upload");
    ck_assert_ptr_nonnull(strstr(d.reason, "needs Require orthanc-access "
                                           "modify; the requirements that "
                                           "applied grant upload"));

    path = test_path("/viewer/app/index.html");
    ck_assert(op_decide_require(test_pool, OP_LEVEL_READ, rules(spec), "GET",
                                &path, 0).allowed);
    path = test_path("/studies/x");
    ck_assert(op_decide_require(test_pool, OP_LEVEL_MODIFY, rules(spec),
                                "DELETE", &path, 0).allowed);
}
END_TEST

START_TEST(bad_rules_are_named)
{
    op_rule rule;
    ck_assert_ptr_nonnull(op_rule_make(test_pool, 1, "get", "/x", &rule));
    ck_assert_ptr_nonnull(op_rule_make(test_pool, 1, "GET", "x", &rule));
}
END_TEST

Suite *access_rules_suite(void)
{
    Suite *s = suite_create("access_rules");
    TCase *tc = pooled_tcase("decision");

    tcase_add_test(tc, the_level_decides_known_routes);
    tcase_add_test(tc, unknown_routes_need_admin);
    tcase_add_test(tc, the_default_level_is_modify);
    tcase_add_test(tc, deny_rules_win);
    tcase_add_test(tc, allow_rules_reach_beyond_the_level);
    tcase_add_test(tc, head_is_decided_as_get);
    tcase_add_test(tc, require_lines_decide_like_the_level_and_say_so);
    tcase_add_test(tc, bad_rules_are_named);
    suite_add_tcase(s, tc);
    return s;
}
