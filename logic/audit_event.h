/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_event.h - one event of the audit trail, written as a JSON line and
 * as a DICOM audit message (PS3.15 A.5, the XML of IHE ATNA) inside an
 * RFC 5424 syslog message with MSGID IHE+RFC-3881.
 *
 * An event stands for one request (deletions, modifications) or for every
 * request of one user, client, action and study in a window (viewing,
 * queries, imports, exports, refusals): apache/../support/ aggregates,
 * this part only writes.
 */
#ifndef ORTHANC_PROXY_AUDIT_EVENT_H
#define ORTHANC_PROXY_AUDIT_EVENT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "audit_classify.h"
#include "audit_resolve.h"

typedef struct {
    op_audit_kind kind;
    char action;                  /* EventActionCode: C R U D E */
    int outcome;                  /* 0 success, 4 minor failure (refused,
                                   * not found), 8 serious failure */
    const char *outcome_text;     /* why: the refusal's reason, Orthanc's
                                   * status */
    apr_time_t first, last;       /* the first and last request */
    apr_int64_t requests;
    const char *user;             /* NULL: nobody authenticated */
    const char *client;           /* the client's address */
    const char *node;             /* AuditSourceID */
    const char *site;             /* AuditEnterpriseSiteID, or NULL */
    const char *prefix;           /* the mapping */
    const char *request;          /* "METHOD /prefix/path?query" of the
                                   * first request */
    const char *query;            /* Query: the query keys (query string or
                                   * request body) */
    const char *what;             /* a word: "archive", "modify" ... */
    const char *destination;      /* Transferred: the modality or peer */
    const apr_array_header_t *subjects;   /* op_audit_subject */
    apr_int64_t instances;        /* distinct instances, -1 unknown */
    apr_int64_t bytes;            /* body bytes to (or from) the client */
    const char *process_id;       /* the audit program's PID */
    int truncated;                /* some field was cut on the way */
} op_audit_event;

/* The event's DICOM code and meaning: "110103", "DICOM Instances Accessed". */
const char *op_audit_event_code(const op_audit_event *event);
const char *op_audit_event_meaning(const op_audit_event *event);

/* One JSON object, without a line end. */
char *op_audit_event_json(apr_pool_t *p, const op_audit_event *event);

/* The DICOM audit message (XML, UTF-8, no line end). */
char *op_audit_event_xml(apr_pool_t *p, const op_audit_event *event);

/* An RFC 5424 message carrying MSG (UTF-8, after a BOM): PRI from FACILITY
 * (0-23) and SEVERITY (0-7), TIME, HOSTNAME, APP_NAME, PROCID and MSGID
 * (printable US-ASCII, cut to RFC 5424's lengths; "-" when empty). */
char *op_syslog_message(apr_pool_t *p, int facility, int severity,
                        apr_time_t time, const char *hostname,
                        const char *app_name, const char *procid,
                        const char *msgid, const char *msg, apr_size_t *len);

/* TEXT escaped for XML text and attribute values: & < > " ' written as
 * entities, control characters other than tab and line ends dropped,
 * bytes that are not well-formed UTF-8 replaced by U+FFFD. */
char *op_xml_escape(apr_pool_t *p, const char *text);

/* "2026-12-01T10:26:31.123456Z" */
char *op_audit_time(apr_pool_t *p, apr_time_t time);

#endif
