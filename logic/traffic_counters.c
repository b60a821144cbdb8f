/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traffic_counters.c - which counters one finished request moves.
 */
#include "traffic_counters.h"

#include <string.h>

/* The rules a refusal names start with the directive that decided
 * (logic/access_rules.c); Require covers Require orthanc-access. */
static op_refusal_kind kind_of_rule(const char *rule)
{
    if (strncmp(rule, "OrthancProxyDeny ", 17) == 0) {
        return OP_REFUSED_DENY;
    }
    if (strncmp(rule, "OrthancProxyAccess ", 19) == 0) {
        return OP_REFUSED_ACCESS;
    }
    if (strncmp(rule, "Require ", 8) == 0) {
        return OP_REFUSED_REQUIRE;
    }
    return OP_REFUSED_OTHER;
}

static op_refusal_kind kind_of_status(int status)
{
    switch (status) {
    case 400:
        return OP_REFUSED_REQUEST;
    case 413:
    case 415:
        return OP_REFUSED_BODY;
    }
    return OP_REFUSED_OTHER;
}

static op_outcome refused(op_refusal_kind kind)
{
    op_outcome outcome;
    memset(&outcome, 0, sizeof(outcome));
    outcome.kind = OP_OUTCOME_REFUSED;
    outcome.refusal = kind;
    return outcome;
}

static op_outcome answered(op_outcome_kind kind)
{
    op_outcome outcome;
    memset(&outcome, 0, sizeof(outcome));
    outcome.kind = kind;
    outcome.response_class = -1;
    outcome.backend_error = -1;
    return outcome;
}

op_outcome op_classify_request(const op_finished_request *done)
{
    op_outcome outcome;

    if (done->refused_by_module) {
        return refused(done->rule ? kind_of_rule(done->rule)
                                  : kind_of_status(done->status));
    }
    if (!done->admitted) {
        /* Stopped by Apache before the fixups: authentication answers
         * 401, authorization 403 (or 401 to ask for another login). */
        if (done->status == 401) {
            return refused(OP_REFUSED_LOGIN);
        }
        if (done->status == 403) {
            return refused(OP_REFUSED_REQUIRE);
        }
        return done->status >= 400 ? refused(kind_of_status(done->status))
                                   : answered(OP_OUTCOME_LOCAL);
    }
    if (!done->proxied) {
        return done->status >= 400 ? refused(kind_of_status(done->status))
                                   : answered(OP_OUTCOME_LOCAL);
    }
    outcome = answered(OP_OUTCOME_PROXIED);
    if (done->status >= 100 && done->status <= 599) {
        outcome.response_class = done->status / 100 - 1;
    }
    if (done->status >= 502 && done->status <= 504) {
        outcome.backend_error = done->status - 502;
    }
    outcome.latency_bucket = op_latency_bucket(done->duration_us);
    return outcome;
}

void op_traffic_derive(op_traffic_counters *copy)
{
    int kind;

    copy->requests = copy->proxied + copy->local;
    for (kind = 0; kind < OP_REFUSED_KINDS; kind++) {
        copy->requests += copy->refused[kind];
    }
    copy->latency_count = copy->proxied;
}

int op_latency_bucket(apr_int64_t duration_us)
{
    apr_int64_t bound = 1000;       /* 1 ms */
    int bucket;

    for (bucket = 0; bucket < OP_LATENCY_BUCKETS - 1; bucket++) {
        if (duration_us <= bound) {
            return bucket;
        }
        bound *= 10;
    }
    return OP_LATENCY_BUCKETS - 1;
}

const char *op_refusal_kind_name(op_refusal_kind kind)
{
    static const char *const names[OP_REFUSED_KINDS] = {
        "login", "require", "access", "deny", "request", "body", "other"
    };
    return kind < OP_REFUSED_KINDS ? names[kind] : "other";
}

const char *op_latency_bucket_name(int bucket)
{
    static const char *const names[OP_LATENCY_BUCKETS] = {
        "<=1ms", "<=10ms", "<=100ms", "<=1s", "<=10s", ">10s"
    };
    return bucket >= 0 && bucket < OP_LATENCY_BUCKETS ? names[bucket] : "?";
}

const char *op_backend_error_name(int index)
{
    static const char *const names[OP_BACKEND_ERRORS] = { "502", "503", "504" };
    return index >= 0 && index < OP_BACKEND_ERRORS ? names[index] : "?";
}
