/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_memory.h - what OrthancProxyStudies learnt of Orthanc,
 * remembered between requests for as long as the cache's change follower
 * vouches for it.
 *
 * A decision rests on facts Orthanc gave: the way up from a series or an
 * instance to its study, a study's tags and labels, the studies of a
 * patient or of a UID.  The way up never changes (Orthanc's IDs are
 * hashes of the UIDs above them), so it is remembered as it is.  The
 * other facts are remembered with a stamp: the generation counters of the
 * resource they describe (logic/generation_table.h), read before Orthanc
 * was asked.  The follower increments them for every change it reads in
 * Orthanc's log (and every counter at once when it cannot tell what
 * changed: a deletion, a hole in the log), so a fact whose stamp no
 * longer matches is asked again; while the follower is behind, no stamp
 * matches.  Labels change without an entry in the log: facts are not
 * remembered for a scope that uses labels on an Orthanc that has them.
 *
 * The memory belongs to one process (made at child_init, for each mapping
 * whose Orthanc the cache follows), holds text only (Orthanc's JSON, lists
 * of IDs), and is emptied when it outgrows its bounds.
 */
#ifndef ORTHANC_PROXY_STUDIES_MEMORY_H
#define ORTHANC_PROXY_STUDIES_MEMORY_H

#include <httpd.h>

#include "logic/cache_policy.h"
#include "apache/request_context.h"

/* At most this many facts, or this many bytes of them, per process and
 * mapping; beyond, the memory is emptied and fills again. */
#define OP_STUDIES_MEMORY_ENTRIES 20000
#define OP_STUDIES_MEMORY_BYTES (16 * 1024 * 1024)

typedef struct op_studies_memory op_studies_memory;

/* Gives each mapping of every server whose Orthanc the cache follows a
 * memory of this process. */
void op_studies_memory_child_init(apr_pool_t *pchild, server_rec *s);

/* The stamp a fact about SCOPE rests on, read now, before Orthanc is
 * asked; NULL when it cannot be remembered: the mapping has no memory,
 * the follower is behind, or LABELS (the fact shows labels) on an Orthanc
 * that has them.  A scope of kind OP_SCOPE_NONE is a fact that never
 * changes: its stamp is "" whenever the mapping has a memory. */
const char *op_studies_memory_stamp(const op_mapping *mapping, apr_pool_t *p,
                                    op_scope_kind kind, const char *id,
                                    int labels);

/* The text remembered under KEY with STAMP, copied in P; NULL if none. */
const char *op_studies_memory_recall(const op_mapping *mapping,
                                     apr_pool_t *p, const char *key,
                                     const char *stamp);

/* Remembers TEXT under KEY with STAMP (NULL: nothing is kept). */
void op_studies_memory_keep(const op_mapping *mapping, const char *key,
                            const char *stamp, const char *text);

#endif
