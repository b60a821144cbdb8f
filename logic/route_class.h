/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_class.h - which Orthanc of a cluster a request must reach.
 *
 * Several Orthancs on one database see the same data, but each keeps its
 * own jobs and query/retrieve results in memory, and a topology usually
 * keeps ingest and changes on one writer so that the readers serve
 * viewers.  This sorts a request (Orthanc's reading of it: the canonical
 * path and the effective method) into what may go to any member, what
 * changes state, and what names state that lives in one member's memory.
 */
#ifndef ORTHANC_PROXY_ROUTE_CLASS_H
#define ORTHANC_PROXY_ROUTE_CLASS_H

#include "path_canon.h"

typedef enum {
    /* Reads: GET and HEAD of stored data, and the POSTs that only query
     * (/tools/find, /tools/lookup ...).  Any member answers alike. */
    OP_ROUTE_READ,
    /* Everything else: uploads, changes, deletions, and every POST that
     * can start a job ("Asynchronous": true sits in a body the proxy
     * streams without reading, so any such POST may create one). */
    OP_ROUTE_WRITE,
    /* /jobs and /queries: what one Orthanc keeps in its memory.  It must
     * reach the member that created it. */
    OP_ROUTE_MEMBER_STATE
} op_route_class;

/* The class of METHOD (HEAD counts as GET) on the segments of PATH from
 * index FROM on. */
op_route_class op_route_classify(const char *method, const op_path *path,
                                 int from);

/* "read", "write", "member state": for logs. */
const char *op_route_class_name(op_route_class route_class);

#endif
