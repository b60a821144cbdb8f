/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traffic_counters.h - what the status page counts for each mapping, and
 * how one finished request is counted.
 *
 * The counters live in shared memory (apache/status/status_counters.c) and are
 * added to by every Apache child; this part only says which counters one
 * request moves, so that the classification is tested without a server.
 */
#ifndef ORTHANC_PROXY_TRAFFIC_COUNTERS_H
#define ORTHANC_PROXY_TRAFFIC_COUNTERS_H

#include <apr.h>

/* Why a request was refused before it reached Orthanc. */
typedef enum {
    OP_REFUSED_LOGIN,     /* 401 from Apache: no login, or a failed one */
    OP_REFUSED_REQUIRE,   /* 403 from Apache's Require (groups, hosts ...),
                           * and every refusal by Require orthanc-access */
    OP_REFUSED_ACCESS,    /* OrthancProxyAccess, the location's ceiling */
    OP_REFUSED_DENY,      /* an OrthancProxyDeny rule */
    OP_REFUSED_REQUEST,   /* 400: unreadable or ambiguous request */
    OP_REFUSED_BODY,      /* 413 too large, 415 encoded */
    OP_REFUSED_OTHER,     /* anything else refused before Orthanc */
    OP_REFUSED_KINDS
} op_refusal_kind;

/* Latency buckets, by upper bound: 1 ms, 10 ms, 100 ms, 1 s, 10 s, more. */
#define OP_LATENCY_BUCKETS 6

/* The 502, 503 and 504 of proxied requests. */
#define OP_BACKEND_ERRORS 3

/* One mapping's counters.  Only whole 64-bit words, each changed with an
 * atomic add: children never take a lock to count.  Each request adds to
 * exactly one of proxied, local and refused[], after its other counters;
 * requests and latency_count are not stored but filled in by the reader
 * from those (op_traffic_derive), so a request costs no add for them. */
typedef struct {
    apr_uint64_t since;                 /* apr_time_t counting started */
    apr_uint64_t requests;              /* every request of the mapping */
    apr_uint64_t proxied;               /* handed to Orthanc */
    apr_uint64_t local;                 /* answered by the module: redirects,
                                         * CORS preflights */
    apr_uint64_t refused[OP_REFUSED_KINDS];
    apr_uint64_t responses[5];          /* proxied, by class: 1xx ... 5xx */
    apr_uint64_t backend_errors[OP_BACKEND_ERRORS];   /* 502, 503, 504 */
    apr_uint64_t latency_count;         /* proxied requests timed */
    apr_uint64_t latency_total_us;
    apr_uint64_t latency_max_us;
    apr_uint64_t latency_buckets[OP_LATENCY_BUCKETS];
    apr_uint64_t audit_records;         /* records given to the audit program */
    apr_uint64_t audit_lost;            /* records it could not be given */
} op_traffic_counters;

/* What is known of a request once it is over. */
typedef struct {
    int status;                 /* the final status sent */
    int refused_by_module;      /* the module refused it (op_refuse) */
    const char *rule;           /* the rule that refusal named, or NULL */
    int admitted;               /* Apache's access control let it through */
    int proxied;                /* it was to go to Orthanc (not answered
                                 * by the module itself) */
    apr_int64_t duration_us;    /* from the request line to the log phase */
} op_finished_request;

typedef enum {
    OP_OUTCOME_PROXIED,
    OP_OUTCOME_LOCAL,
    OP_OUTCOME_REFUSED
} op_outcome_kind;

/* The counters one request moves. */
typedef struct {
    op_outcome_kind kind;
    op_refusal_kind refusal;    /* when refused */
    int response_class;         /* when proxied: 0 for 1xx ... 4 for 5xx,
                                 * -1 for a status outside 100-599 */
    int backend_error;          /* when proxied: 0, 1, 2 for 502, 503, 504,
                                 * -1 otherwise */
    int latency_bucket;         /* when proxied */
} op_outcome;

op_outcome op_classify_request(const op_finished_request *done);

/* Fills in the counters a reader derives: requests and latency_count. */
void op_traffic_derive(op_traffic_counters *copy);

/* The bucket of a duration in microseconds (0 .. OP_LATENCY_BUCKETS-1). */
int op_latency_bucket(apr_int64_t duration_us);

/* Names, for the status page: "require", "access" ...; "<=1ms" ... ">10s";
 * "502", "503", "504". */
const char *op_refusal_kind_name(op_refusal_kind kind);
const char *op_latency_bucket_name(int bucket);
const char *op_backend_error_name(int index);

#endif
