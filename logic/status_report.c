/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_report.c - the status page as JSON and as HTML.
 *
 * Both forms show the same figures, in the same order, for each mapping:
 * where it goes, how many requests it had and what became of them, and
 * how long the proxied ones took.
 */
#include "status_report.h"

#include <apr_escape.h>
#include <apr_strings.h>

#include "json_error.h"
#include "module_version.h"

static const char *const RESPONSE_CLASSES[5] = {
    "1xx", "2xx", "3xx", "4xx", "5xx"
};

static const char *iso_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
}

static double mean_ms(const op_traffic_counters *c)
{
    return c->latency_count
           ? (double)c->latency_total_us / (double)c->latency_count / 1000.0
           : 0.0;
}

/* ---------------------------------------------------------------- JSON */

/* {"NAME0": V0, "NAME1": V1, ...} */
static const char *json_counts(apr_pool_t *p, const char *(*name)(int),
                               const apr_uint64_t *values, int n)
{
    const char *out = "{";
    int i;
    for (i = 0; i < n; i++) {
        out = apr_psprintf(p, "%s%s%s: %" APR_UINT64_T_FMT, out,
                           i ? ", " : "", op_json_string(p, name(i)),
                           values[i]);
    }
    return apr_pstrcat(p, out, "}", NULL);
}

static const char *refusal_name(int i)
{
    return op_refusal_kind_name((op_refusal_kind)i);
}

static const char *response_name(int i)
{
    return RESPONSE_CLASSES[i];
}

static const char *json_counters(apr_pool_t *p, const op_traffic_counters *c)
{
    return apr_psprintf(
        p, ", \"since\": \"%s\", \"requests\": %" APR_UINT64_T_FMT
        ", \"proxied\": %" APR_UINT64_T_FMT ", \"local\": %" APR_UINT64_T_FMT
        ", \"refused\": %s, \"responses\": %s, \"backend_errors\": %s"
        ", \"latency\": {\"count\": %" APR_UINT64_T_FMT ", \"mean_ms\": %.3f"
        ", \"max_ms\": %.3f, \"buckets\": %s}"
        ", \"audit\": {\"records\": %" APR_UINT64_T_FMT ", \"lost\": %"
        APR_UINT64_T_FMT "}",
        iso_time(p, (apr_time_t)c->since), c->requests, c->proxied, c->local,
        json_counts(p, refusal_name, c->refused, OP_REFUSED_KINDS),
        json_counts(p, response_name, c->responses, 5),
        json_counts(p, op_backend_error_name, c->backend_errors,
                    OP_BACKEND_ERRORS),
        c->latency_count, mean_ms(c), (double)c->latency_max_us / 1000.0,
        json_counts(p, op_latency_bucket_name, c->latency_buckets,
                    OP_LATENCY_BUCKETS), c->audit_records, c->audit_lost);
}

/* The audit program's "name value" lines: numbers stay numbers. */
static const char *audit_pairs(apr_pool_t *p, const char *text, int as_json)
{
    char *copy = apr_pstrdup(p, text), *state, *line;
    const char *out = "";

    for (line = apr_strtok(copy, "\n", &state); line;
         line = apr_strtok(NULL, "\n", &state)) {
        char *value = strchr(line, ' ');
        int number;
        if (value == NULL) {
            continue;
        }
        *value++ = '\0';
        number = *value && strspn(value, "0123456789") == strlen(value);
        if (as_json) {
            out = apr_pstrcat(p, out, *out ? ", " : "", op_json_string(p, line),
                              ": ", number ? value : op_json_string(p, value),
                              NULL);
        }
        else {
            out = apr_pstrcat(p, out, "<tr><th>", apr_pescape_entity(p, line, 0), "</th><td>",
                              apr_pescape_entity(p, value, 0), "</td></tr>\n", NULL);
        }
    }
    return out;
}

static const char *json_audit(apr_pool_t *p, const op_status_report *report)
{
    if (report->audit == NULL) {
        return "null";
    }
    return apr_pstrcat(p, "{\"outputs\": ",
                       op_json_string(p, report->audit_outputs
                                         ? report->audit_outputs : ""),
                       ", \"program\": {", audit_pairs(p, report->audit, 1),
                       "}}", NULL);
}

static const char *json_entry(apr_pool_t *p, const op_status_entry *e)
{
    return apr_psprintf(
        p, "{\"server\": %s, \"prefix\": %s, \"backend\": %s, "
        "\"defined_at\": %s, \"counted\": %s%s}",
        op_json_string(p, e->server), op_json_string(p, e->prefix),
        op_json_string(p, e->backend), op_json_string(p, e->defined_at),
        e->counted ? "true" : "false",
        e->counted ? json_counters(p, &e->counters) : "");
}

char *op_status_json(apr_pool_t *p, const op_status_report *report)
{
    char *out = apr_psprintf(
        p, "{\"version\": %s, \"now\": \"%s\", \"counting\": %s, "
        "\"counting_off\": %s, \"audit\": %s, \"mappings\": [",
        op_json_string(p, report->version), iso_time(p, report->now),
        report->counting_off ? "false" : "true",
        report->counting_off ? op_json_string(p, report->counting_off)
                             : "null", json_audit(p, report));
    int i;

    for (i = 0; i < report->entries->nelts; i++) {
        out = apr_pstrcat(p, out, i ? ",\n  " : "\n  ",
                          json_entry(p, &APR_ARRAY_IDX(report->entries, i,
                                                       op_status_entry)),
                          NULL);
    }
    return apr_pstrcat(p, out, "\n]}\n", NULL);
}

/* ---------------------------------------------------------------- HTML */

static const char *html(apr_pool_t *p, const char *text)
{
    return apr_pescape_entity(p, text, 0);
}

/* "name n, name n, ..." */
static const char *html_counts(apr_pool_t *p, const char *(*name)(int),
                               const apr_uint64_t *values, int n)
{
    const char *out = "";
    int i;
    for (i = 0; i < n; i++) {
        out = apr_psprintf(p, "%s%s%s&nbsp;%" APR_UINT64_T_FMT, out,
                           i ? ", " : "", html(p, name(i)), values[i]);
    }
    return out;
}

static const char *html_row(apr_pool_t *p, const char *label,
                            const char *value)
{
    return apr_pstrcat(p, "<tr><th>", label, "</th><td>", value,
                       "</td></tr>\n", NULL);
}

static const char *html_counters(apr_pool_t *p, const op_traffic_counters *c)
{
    return apr_pstrcat(
        p,
        html_row(p, "counting since", iso_time(p, (apr_time_t)c->since)),
        html_row(p, "requests", apr_psprintf(p, "%" APR_UINT64_T_FMT,
                                             c->requests)),
        html_row(p, "proxied to Orthanc", apr_psprintf(
            p, "%" APR_UINT64_T_FMT, c->proxied)),
        html_row(p, "answered by the proxy", apr_psprintf(
            p, "%" APR_UINT64_T_FMT, c->local)),
        html_row(p, "refused", html_counts(p, refusal_name, c->refused,
                                           OP_REFUSED_KINDS)),
        html_row(p, "responses", html_counts(p, response_name, c->responses,
                                             5)),
        html_row(p, "backend errors", html_counts(
            p, op_backend_error_name, c->backend_errors, OP_BACKEND_ERRORS)),
        html_row(p, "latency", apr_psprintf(
            p, "%" APR_UINT64_T_FMT " timed, mean %.3f ms, max %.3f ms",
            c->latency_count, mean_ms(c), (double)c->latency_max_us / 1000.0)),
        html_row(p, "latency histogram", html_counts(
            p, op_latency_bucket_name, c->latency_buckets,
            OP_LATENCY_BUCKETS)),
        html_row(p, "audit records", apr_psprintf(
            p, "%" APR_UINT64_T_FMT " given to the audit program, %"
            APR_UINT64_T_FMT " lost", c->audit_records, c->audit_lost)),
        NULL);
}

static const char *html_entry(apr_pool_t *p, const op_status_entry *e)
{
    return apr_pstrcat(
        p, "<h2>", html(p, e->prefix), " &rarr; ", html(p, e->backend),
        "</h2>\n<table>\n",
        html_row(p, "server", html(p, e->server)),
        html_row(p, "defined at", html(p, e->defined_at)),
        e->counted ? html_counters(p, &e->counters)
                   : html_row(p, "counters", "off"),
        "</table>\n", NULL);
}

char *op_status_html(apr_pool_t *p, const op_status_report *report)
{
    char *out = apr_pstrcat(
        p, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>Orthanc proxy status</title></head>\n<body>\n"
        "<h1>Orthanc proxy status</h1>\n<p>" OP_MODULE_NAME " ",
        html(p, report->version), " &mdash; ", iso_time(p, report->now),
        report->counting_off ? " &mdash; counting is off: " : "",
        report->counting_off ? html(p, report->counting_off) : "",
        " &mdash; <a href=\"?json\">JSON</a></p>\n", NULL);
    int i;

    if (report->audit) {
        out = apr_pstrcat(p, out, "<h2>Audit trail</h2>\n<p>",
                          html(p, report->audit_outputs
                                  ? report->audit_outputs : ""),
                          "</p>\n<table>\n", audit_pairs(p, report->audit, 0),
                          "</table>\n", NULL);
    }
    for (i = 0; i < report->entries->nelts; i++) {
        out = apr_pstrcat(p, out,
                          html_entry(p, &APR_ARRAY_IDX(report->entries, i,
                                                       op_status_entry)),
                          NULL);
    }
    return apr_pstrcat(p, out, "</body></html>\n", NULL);
}
