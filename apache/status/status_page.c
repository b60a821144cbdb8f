/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_page.c - SetHandler orthanc-proxy-status.
 *
 *   <Location /orthanc-status>
 *       SetHandler orthanc-proxy-status
 *       Require ip 10.0.0.0/8
 *   </Location>
 *
 * Like mod_status and balancer-manager, the page is an ordinary handler:
 * Apache's Require protects it.  It lists every mapping of the server, its
 * virtual hosts' included, with the counters all children add to
 * (status_counters.c); "?json" gives the same figures as JSON.  It never
 * answers below a mapped prefix: there, every request is Orthanc's.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>

#include "logic/module_version.h"
#include "logic/status_report.h"
#include "apache/audit/audit_config.h"
#include "apache/request_context.h"
#include "status_counters.h"
#include "status_page.h"

static const char *server_label(apr_pool_t *p, const server_rec *s)
{
    const char *name = s->server_hostname ? s->server_hostname : "";
    return s->port ? apr_psprintf(p, "%s:%u", name, (unsigned)s->port) : name;
}

static op_status_entry *add_entry(apr_array_header_t *entries,
                                  apr_pool_t *p, const server_rec *s,
                                  const op_mapping *mapping)
{
    op_status_entry *entry = apr_array_push(entries);

    memset(entry, 0, sizeof(*entry));
    entry->server = server_label(p, s);
    entry->prefix = mapping->prefix.prefix;
    entry->backend = mapping->backend.url;
    entry->defined_at = mapping->defined_at;
    if (mapping->counters) {
        entry->counted = 1;
        op_status_counters_read(mapping->counters, &entry->counters);
    }
    return entry;
}

static int listed(const apr_array_header_t *seen, const op_mapping *mapping)
{
    int i;
    for (i = 0; i < seen->nelts; i++) {
        if (APR_ARRAY_IDX(seen, i, const op_mapping *) == mapping) {
            return 1;
        }
    }
    return 0;
}

/* The audit program's counters, from the file it rewrites every half
 * second in Apache's runtime directory. */
static void audit_status(request_rec *r, op_status_report *report)
{
    const op_audit_server *audit = op_audit_server_get(ap_server_conf);
    apr_file_t *f;
    char text[4096];
    apr_size_t n = sizeof(text) - 1;

    report->audit = NULL;
    report->audit_outputs = NULL;
    if (!audit->running) {
        return;
    }
    report->audit_outputs = apr_pstrcat(
        r->pool, "JSON lines to ", audit->json ? audit->json : "nowhere",
        ", ATNA messages to ", audit->syslog ? audit->syslog : "nowhere", NULL);
    report->audit = "";
    if (apr_file_open(&f, audit->status_path, APR_FOPEN_READ, 0, r->pool)
        == APR_SUCCESS) {
        if (apr_file_read_full(f, text, n, &n) != APR_SUCCESS && n == 0) {
            n = 0;
        }
        text[n] = '\0';
        apr_file_close(f);
        report->audit = apr_pstrdup(r->pool, text);
    }
}

/* Every mapping once, under the server that defines it: the main server
 * first, whose mappings the virtual hosts inherit. */
static op_status_report make_report(request_rec *r)
{
    apr_array_header_t *entries = apr_array_make(r->pool, 4,
                                                 sizeof(op_status_entry));
    apr_array_header_t *seen = apr_array_make(r->pool, 4,
                                              sizeof(const op_mapping *));
    op_status_report report;
    const server_rec *s;
    int counted = 0;

    for (s = ap_server_conf; s; s = s->next) {
        const op_server_conf *conf = op_server_conf_get(s);
        int i;

        for (i = 0; i < conf->mappings->nelts; i++) {
            const op_mapping *mapping = APR_ARRAY_IDX(conf->mappings, i,
                                                      const op_mapping *);
            if (!listed(seen, mapping)) {
                APR_ARRAY_PUSH(seen, const op_mapping *) = mapping;
                counted |= add_entry(entries, r->pool, s, mapping)->counted;
            }
        }
    }
    report.version = op_module_version;
    report.now = apr_time_now();
    audit_status(r, &report);
    report.entries = entries;
    report.counting_off = counted || entries->nelts == 0
                          ? NULL : op_status_counters_missing();
    return report;
}

/* "?json", alone or among other arguments. */
static int wants_json(const request_rec *r)
{
    const char *args = r->args;
    while (args && *args) {
        apr_size_t length = strcspn(args, "&");
        if (length == 4 && strncmp(args, "json", 4) == 0) {
            return 1;
        }
        args += length + (args[length] == '&');
    }
    return 0;
}

int op_status_handler(request_rec *r)
{
    op_request *req;
    op_status_report report;
    int json;

    if (r->handler == NULL || strcmp(r->handler, OP_STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    if ((req = op_request_get(r)) != NULL) {
        return op_refuse(r, req, HTTP_NOT_FOUND, "the status page cannot be "
                         "served below an OrthancProxy prefix", NULL);
    }
    r->allowed |= AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    report = make_report(r);
    json = wants_json(r);
    ap_set_content_type(r, json ? "application/json; charset=utf-8"
                                : "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rputs(json ? op_status_json(r->pool, &report)
                      : op_status_html(r->pool, &report), r);
    }
    return OK;
}
