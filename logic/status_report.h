/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_report.h - the status page (SetHandler orthanc-proxy-status) as
 * HTML for people and JSON for programs, from a copy of the counters.
 */
#ifndef ORTHANC_PROXY_STATUS_REPORT_H
#define ORTHANC_PROXY_STATUS_REPORT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "traffic_counters.h"

/* One mapping as the page shows it. */
typedef struct {
    const char *server;         /* the virtual host it belongs to */
    const char *prefix;         /* "/orthanc/" */
    const char *backend;        /* "http://127.0.0.1:8042/" */
    const char *defined_at;     /* "file:line" */
    int counted;                /* 0 when counting is off */
    op_traffic_counters counters;   /* a copy, read when the page is made */
} op_status_entry;

typedef struct {
    const char *version;        /* the module's: "1.0.0" */
    apr_time_t now;
    const char *counting_off;   /* why nothing is counted, or NULL */
    /* The audit trail: NULL when off; else the audit program's counters as
     * it writes them ("name value" lines), "" when it wrote none yet. */
    const char *audit;
    const char *audit_outputs;  /* "JSON lines to ..., syslog to ..." */
    const apr_array_header_t *entries;   /* op_status_entry */
} op_status_report;

char *op_status_json(apr_pool_t *p, const op_status_report *report);
char *op_status_html(apr_pool_t *p, const op_status_report *report);

#endif
