/* SPDX-License-Identifier: Apache-2.0 */
/* Which counters a finished request moves: traffic_counters.c */
#include <string.h>
#include "unit_tests.h"
#include "traffic_counters.h"

static op_outcome classify(int status, int refused_by_module, const char *rule,
                           int admitted, int proxied, apr_int64_t us)
{
    op_finished_request done;
    done.status = status;
    done.refused_by_module = refused_by_module;
    done.rule = rule;
    done.admitted = admitted;
    done.proxied = proxied;
    done.duration_us = us;
    return op_classify_request(&done);
}

static void assert_refused(op_outcome outcome, op_refusal_kind kind)
{
    ck_assert_int_eq(outcome.kind, OP_OUTCOME_REFUSED);
    ck_assert_str_eq(op_refusal_kind_name(outcome.refusal),
                     op_refusal_kind_name(kind));
}

START_TEST(the_module_refusals_are_counted_by_what_decided)
{
    assert_refused(classify(403, 1, "OrthancProxyAccess read", 1, 1, 0),
                   OP_REFUSED_ACCESS);
    assert_refused(classify(403, 1, "OrthancProxyDeny DELETE /patients/**", 1,
                            1, 0), OP_REFUSED_DENY);
    assert_refused(classify(403, 1, "Require orthanc-access read", 0, 1, 0),
                   OP_REFUSED_REQUIRE);
    assert_refused(classify(401, 1, "Require orthanc-access read", 0, 1, 0),
                   OP_REFUSED_REQUIRE);
    assert_refused(classify(400, 1, NULL, 0, 1, 0), OP_REFUSED_REQUEST);
    assert_refused(classify(413, 1, NULL, 1, 1, 0), OP_REFUSED_BODY);
    assert_refused(classify(415, 1, NULL, 1, 1, 0), OP_REFUSED_BODY);
    assert_refused(classify(403, 1, NULL, 0, 0, 0), OP_REFUSED_OTHER);
}
END_TEST

START_TEST(apache_refusals_before_the_fixups_are_logins_and_requires)
{
    assert_refused(classify(401, 0, NULL, 0, 1, 0), OP_REFUSED_LOGIN);
    assert_refused(classify(403, 0, NULL, 0, 1, 0), OP_REFUSED_REQUIRE);
    assert_refused(classify(500, 0, NULL, 0, 1, 0), OP_REFUSED_OTHER);
}
END_TEST

START_TEST(orthancs_own_401_is_a_proxied_answer)
{
    op_outcome outcome = classify(401, 0, NULL, 1, 1, 2500);
    ck_assert_int_eq(outcome.kind, OP_OUTCOME_PROXIED);
    ck_assert_int_eq(outcome.response_class, 3);
    ck_assert_int_eq(outcome.backend_error, -1);
    ck_assert_int_eq(outcome.latency_bucket, 1);
}
END_TEST

START_TEST(backend_errors_are_proxied_5xx)
{
    op_outcome outcome = classify(503, 0, NULL, 1, 1, 10);
    ck_assert_int_eq(outcome.kind, OP_OUTCOME_PROXIED);
    ck_assert_int_eq(outcome.response_class, 4);
    ck_assert_str_eq(op_backend_error_name(outcome.backend_error), "503");
    ck_assert_int_eq(classify(500, 0, NULL, 1, 1, 10).backend_error, -1);
    ck_assert_int_eq(classify(999, 0, NULL, 1, 1, 10).response_class, -1);
}
END_TEST

START_TEST(local_answers)
{
    ck_assert_int_eq(classify(301, 0, NULL, 1, 0, 0).kind, OP_OUTCOME_LOCAL);
    ck_assert_int_eq(classify(204, 0, NULL, 1, 0, 0).kind, OP_OUTCOME_LOCAL);
}
END_TEST

START_TEST(latency_buckets_have_decade_bounds)
{
    ck_assert_int_eq(op_latency_bucket(0), 0);
    ck_assert_int_eq(op_latency_bucket(1000), 0);
    ck_assert_int_eq(op_latency_bucket(1001), 1);
    ck_assert_int_eq(op_latency_bucket(100000), 2);
    ck_assert_int_eq(op_latency_bucket(1000000), 3);
    ck_assert_int_eq(op_latency_bucket(10000000), 4);
    ck_assert_int_eq(op_latency_bucket(10000001), 5);
    ck_assert_str_eq(op_latency_bucket_name(0), "<=1ms");
    ck_assert_str_eq(op_latency_bucket_name(5), ">10s");
}
END_TEST

START_TEST(requests_are_the_sum_of_what_became_of_them)
{
    op_traffic_counters c;
    memset(&c, 0, sizeof(c));
    c.proxied = 42;
    c.local = 2;
    c.refused[OP_REFUSED_ACCESS] = 5;
    c.refused[OP_REFUSED_LOGIN] = 3;
    op_traffic_derive(&c);
    ck_assert_uint_eq(c.requests, 52);
    ck_assert_uint_eq(c.latency_count, 42);
}
END_TEST

Suite *traffic_counters_suite(void)
{
    Suite *s = suite_create("traffic_counters");
    TCase *tc = tcase_create("classification");

    tcase_add_test(tc, the_module_refusals_are_counted_by_what_decided);
    tcase_add_test(tc, apache_refusals_before_the_fixups_are_logins_and_requires);
    tcase_add_test(tc, orthancs_own_401_is_a_proxied_answer);
    tcase_add_test(tc, backend_errors_are_proxied_5xx);
    tcase_add_test(tc, local_answers);
    tcase_add_test(tc, latency_buckets_have_decade_bounds);
    tcase_add_test(tc, requests_are_the_sum_of_what_became_of_them);
    suite_add_tcase(s, tc);
    return s;
}
