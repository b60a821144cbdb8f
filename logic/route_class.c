/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_class.c - which Orthanc of a cluster a request must reach
 * (route_class.h).
 *
 * The list of POSTs that only query is short and closed on purpose: a POST
 * that is not in it is a write, so a route a newer Orthanc adds goes to
 * the writer, where a job it may start can be found again.
 */
#include "route_class.h"

#include <string.h>

#include "pattern.h"

/* Orthanc's POST routes that answer from the database and never start a
 * job (tests/unit/test_route_class.c checks them against the route table:
 * every other POST the table opens at the read level creates archives or
 * media, which can be asynchronous). */
static const char *const QUERY_POSTS[] = {
    "/tools/find",
    "/tools/lookup",
    "/tools/count-resources",
    "/tools/bulk-content",
    "/patients/*/attachments/*/verify-md5",
    "/studies/*/attachments/*/verify-md5",
    "/series/*/attachments/*/verify-md5",
    "/instances/*/attachments/*/verify-md5",
    NULL
};

/* What lives in one Orthanc's memory: its jobs and its query/retrieve
 * results (both lists and each by its ID). */
static const char *const MEMBER_STATE[] = {
    "/jobs", "/jobs/**", "/queries", "/queries/**", NULL
};

static int matches_any(const char *const *patterns, const op_path *path,
                       int from)
{
    for (; *patterns; patterns++) {
        if (op_pattern_match(*patterns, path, from)) {
            return 1;
        }
    }
    return 0;
}

op_route_class op_route_classify(const char *method, const op_path *path,
                                 int from)
{
    if (matches_any(MEMBER_STATE, path, from)) {
        return OP_ROUTE_MEMBER_STATE;
    }
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        return OP_ROUTE_READ;
    }
    if (strcmp(method, "POST") == 0 && matches_any(QUERY_POSTS, path, from)) {
        return OP_ROUTE_READ;
    }
    return OP_ROUTE_WRITE;
}

const char *op_route_class_name(op_route_class route_class)
{
    switch (route_class) {
    case OP_ROUTE_READ:
        return "read";
    case OP_ROUTE_WRITE:
        return "write";
    case OP_ROUTE_MEMBER_STATE:
        return "member state";
    }
    return "?";
}
