/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_record.h - what an Apache child tells the audit program about one
 * request: one line on the program's pipe.
 *
 * Every child writes to the same pipe (apache/audit/audit_setup.c opens it
 * as a reliable piped log).  A line is never longer than
 * OP_AUDIT_RECORD_MAX, below PIPE_BUF, so that the kernel writes it whole
 * and lines of several children never mix.  Fields are separated by tabs;
 * a backslash escapes a tab, a line end, a backslash or another control
 * byte (\t \n \r \\ \xHH); a field that is exactly "\-" is absent (NULL);
 * a field that ends with "\." was cut to fit.
 */
#ifndef ORTHANC_PROXY_AUDIT_RECORD_H
#define ORTHANC_PROXY_AUDIT_RECORD_H

#include <apr_pools.h>
#include <apr_time.h>

/* Below PIPE_BUF (4096 on Linux, 512 at least by POSIX, where a smaller
 * system would need a smaller value). */
#define OP_AUDIT_RECORD_MAX 4000

/* How far a request got. */
typedef enum {
    OP_AUDIT_STAGE_PROXIED = 0,   /* handed to Orthanc */
    OP_AUDIT_STAGE_REFUSED,       /* refused by the module (a reason) */
    OP_AUDIT_STAGE_DENIED,        /* refused by Apache's access control */
    OP_AUDIT_STAGE_LOCAL          /* answered by the module (redirect ...) */
} op_audit_stage;

typedef struct {
    apr_time_t time;            /* when the request began */
    const char *node;           /* the node that saw it: AuditSourceID */
    const char *site;           /* AuditEnterpriseSiteID, or NULL */
    const char *prefix;         /* the mapping's public prefix */
    int backend;                /* the Orthanc: index in the program's table */
    int credential;             /* its credentials: index, -1 for none */
    int quiet;                  /* seconds of quiet that close a window */
    int longest;                /* seconds after which a window closes anyway */
    const char *user;           /* the user Apache authenticated, or NULL */
    int credentials_sent;       /* the client sent an Authorization header */
    const char *client;         /* the client's address */
    const char *method;         /* the method Orthanc executes (or would) */
    const char *path;           /* below the prefix, as forwarded (encoded);
                                 * the raw request target when unreadable */
    const char *query;          /* the query string as forwarded, or NULL */
    int status;
    op_audit_stage stage;
    int aborted;                /* the client went away before the end */
    const char *reason;         /* why it was refused, or NULL */
    const char *rule;           /* the rule that refused it, or NULL */
    apr_int64_t bytes_out;      /* body bytes sent to the client */
    apr_int64_t bytes_in;       /* body bytes received from the client */
    const char *subject;        /* resolved before forwarding (deletions,
                                 * sources of modifications): see
                                 * audit_resolve.h, op_audit_subject_text */
    const char *answer;         /* what the child read of Orthanc's answer */
    const char *body;           /* the first bytes of the request's body */
    const char *request_id;     /* Apache's log id of the request */
    int truncated;              /* decoding: some field was cut */
} op_audit_record;

/* The line for RECORD, with its final '\n', at most OP_AUDIT_RECORD_MAX
 * bytes; long fields are cut (each has a budget). */
char *op_audit_record_encode(apr_pool_t *p, const op_audit_record *record,
                             apr_size_t *len);

/* Reads one line (without its '\n'); NULL on success, else what is
 * wrong. */
const char *op_audit_record_decode(apr_pool_t *p, const char *line,
                                   apr_size_t len, op_audit_record *out);

#endif
