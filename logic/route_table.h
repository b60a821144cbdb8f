/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_table.h - Orthanc's REST routes and the access level each needs.
 *
 * The table is derived from Orthanc's REST API reference (core 1.10 and
 * later, the DICOMweb plugin, Orthanc Explorer) and documented in
 * docs/access.md.  A route the table does not know needs the admin level, so a
 * route a newer Orthanc adds is never exposed by accident.
 */
#ifndef ORTHANC_PROXY_ROUTE_TABLE_H
#define ORTHANC_PROXY_ROUTE_TABLE_H

#include "path_canon.h"

typedef enum {
    OP_LEVEL_UNSET = 0,
    OP_LEVEL_READ,       /* only reads, including queries and archive creation */
    OP_LEVEL_UPLOAD,     /* read, plus storing new instances */
    OP_LEVEL_MODIFY,     /* upload, plus changing and deleting stored data */
    OP_LEVEL_ADMIN       /* everything, server administration included */
} op_level;

typedef struct {
    const char *methods;  /* "GET", "GET,POST", ... (pattern.h lists) */
    const char *pattern;  /* pattern.h syntax, {id} written as a star */
    op_level    level;    /* the lowest level that reaches the route */
    const char *family;   /* what the route is, for people: "server administration" */
    const char *since;    /* the first release that has it, "Orthanc 1.12.0" or
                             "DICOMweb 1.19"; NULL when every supported
                             release does (Orthanc 1.10, DICOMweb 1.7) */
} op_route;

/* The first route of the table matching METHOD (HEAD counts as GET) and
 * the segments of PATH from index FROM on; NULL when the table has none. */
const op_route *op_route_find(const char *method, const op_path *path, int from);

/* The whole table, ended by an entry whose pattern is NULL. */
const op_route *op_route_table(void);

/* "read", "upload", "modify", "admin"; OP_LEVEL_UNSET for anything else. */
op_level op_level_parse(const char *name);
const char *op_level_name(op_level level);

#endif
