/* SPDX-License-Identifier: Apache-2.0 */
/* The status page as JSON and HTML: status_report.c */
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"
#include "status_report.h"

static op_status_report report_of(const char *backend, int counted)
{
    apr_array_header_t *entries = apr_array_make(test_pool, 1,
                                                 sizeof(op_status_entry));
    op_status_entry *e = apr_array_push(entries);
    op_status_report report;

    memset(e, 0, sizeof(*e));
    e->server = "pacs.example:443";
    e->prefix = "/orthanc/";
    e->backend = backend;
    e->defined_at = "/etc/apache2/sites-enabled/pacs.conf:12";
    e->counted = counted;
    e->counters.since = (apr_uint64_t)apr_time_from_sec(1764584400);
    e->counters.requests = 7;
    e->counters.proxied = 4;
    e->counters.refused[OP_REFUSED_DENY] = 3;
    e->counters.responses[1] = 3;
    e->counters.responses[4] = 1;
    e->counters.backend_errors[2] = 1;
    e->counters.latency_count = 4;
    e->counters.latency_total_us = 10000;
    e->counters.latency_max_us = 6500;
    e->counters.latency_buckets[1] = 4;
    report.version = "1.2.3-rc4";
    report.now = apr_time_from_sec(1764588000);
    report.counting_off = counted ? NULL : "mod_slotmem_shm is not loaded";
    report.entries = entries;
    report.audit = NULL;
    report.audit_outputs = NULL;
    return report;
}

#define HAS(text, piece) \
    ck_assert_msg(strstr(text, piece) != NULL, "no %s in %s", piece, text)

START_TEST(json_has_every_figure)
{
    op_status_report report = report_of("http://127.0.0.1:8042/", 1);
    const char *json = op_status_json(test_pool, &report);

    HAS(json, "{\"version\": \"1.2.3-rc4\", \"now\": \"2025-12-01T11:20:00Z\"");
    HAS(json, "\"counting\": true, \"counting_off\": null");
    HAS(json, "\"prefix\": \"/orthanc/\", \"backend\": \"http://127.0.0.1:8042/\"");
    HAS(json, "\"since\": \"2025-12-01T10:20:00Z\"");
    HAS(json, "\"requests\": 7, \"proxied\": 4, \"local\": 0");
    HAS(json, "\"deny\": 3");
    HAS(json, "\"responses\": {\"1xx\": 0, \"2xx\": 3, \"3xx\": 0, \"4xx\": 0, \"5xx\": 1}");
    HAS(json, "\"backend_errors\": {\"502\": 0, \"503\": 0, \"504\": 1}");
    HAS(json, "\"latency\": {\"count\": 4, \"mean_ms\": 2.500, \"max_ms\": 6.500");
    HAS(json, "\"<=10ms\": 4");
}
END_TEST

START_TEST(json_without_counters_says_why)
{
    op_status_report report = report_of("http://127.0.0.1:8042/", 0);
    const char *json = op_status_json(test_pool, &report);

    HAS(json, "\"counting\": false, \"counting_off\": \"mod_slotmem_shm is not loaded\"");
    HAS(json, "\"counted\": false}");
    ck_assert_ptr_null(strstr(json, "\"requests\""));
}
END_TEST

START_TEST(html_escapes_what_configuration_wrote)
{
    op_status_report report = report_of("http://a<b>&c/", 1);
    const char *html = op_status_html(test_pool, &report);

    HAS(html, "<p>mod_orthanc_proxy 1.2.3-rc4 &mdash; ");
    HAS(html, "http://a&lt;b&gt;&amp;c/");
    ck_assert_ptr_null(strstr(html, "a<b>"));
    HAS(html, "<th>requests</th><td>7</td>");
    HAS(html, "deny&nbsp;3");
}
END_TEST

START_TEST(shows_the_audit_program)
{
    op_status_report report = report_of("http://127.0.0.1:8042/", 1);
    char *json, *html;

    report.audit = "records 12\nlast_error the syslog queue is full\n";
    report.audit_outputs = "JSON lines to /var/log/a.json";
    json = op_status_json(test_pool, &report);
    ck_assert_ptr_nonnull(strstr(json, "\"audit\": {\"outputs\": \"JSON lines to "
                                       "/var/log/a.json\", \"program\": "
                                       "{\"records\": 12, \"last_error\": "
                                       "\"the syslog queue is full\"}}"));
    ck_assert_ptr_nonnull(strstr(json, "\"audit\": {\"records\": 0, \"lost\": 0}"));
    html = op_status_html(test_pool, &report);
    ck_assert_ptr_nonnull(strstr(html, "<h2>Audit trail</h2>"));
    ck_assert_ptr_nonnull(strstr(html, "<tr><th>records</th><td>12</td></tr>"));
}
END_TEST

Suite *status_report_suite(void)
{
    Suite *s = suite_create("status_report");
    TCase *tc = pooled_tcase("rendering");

    tcase_add_test(tc, json_has_every_figure);
    tcase_add_test(tc, json_without_counters_says_why);
    tcase_add_test(tc, html_escapes_what_configuration_wrote);
    tcase_add_test(tc, shows_the_audit_program);
    suite_add_tcase(s, tc);
    return s;
}
