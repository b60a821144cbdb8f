/* SPDX-License-Identifier: Apache-2.0 */
/*
 * generation_table.h - the cache's generation counters for one Orthanc:
 * a fixed table in shared memory (apache/cache/cache_generations.c puts it in a
 * slot of mod_slotmem_shm).
 *
 * Every cacheable answer depends on one scope (cache_policy.h): a
 * resource, a DICOM UID, or the lists.  A scope's counter is one of a fixed
 * number of buckets, chosen by a hash of the scope; the lists have their
 * own counter, and one more counts the changes that touch everything.  A
 * key holds the values of the counters its answer depends on (and the
 * table's epoch, random at each start): incrementing a counter makes every
 * key built with its old value unreachable.
 *
 * - No eviction: the table is fixed, so no request, not even a flood for
 *   IDs that do not exist, can push a counter out and bring an old answer
 *   back; nothing is created for an ID Orthanc has not confirmed.
 * - No lock: requests read counters with atomic loads, the change follower
 *   (one thread at a time per Orthanc: mod_watchdog's singleton watchdog)
 *   increments them with atomic adds.  An increment cannot fail, so a pass
 *   of the follower is recorded complete only after all its increments are
 *   made.
 * - Two scopes that share a bucket are invalidated together: a collision
 *   makes more answers fresh, never fewer.
 * - A counter is never decremented; the epoch changes when the table is
 *   created again (a restart), so keys of an earlier table never match.
 */
#ifndef ORTHANC_PROXY_GENERATION_TABLE_H
#define ORTHANC_PROXY_GENERATION_TABLE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "cache_policy.h"

/* Buckets per Orthanc: 16384 x 8 bytes. */
#define OP_GEN_BUCKETS 16384

/* op_gen_table.flags */
#define OP_GEN_LABELS 1u        /* that Orthanc shows labels (>= 1.12) */

typedef struct {
    apr_uint64_t epoch;                  /* random, set at creation */
    volatile apr_uint64_t sync_start;    /* apr_time_t: when the last
                                          * complete pass started; 0 none */
    volatile apr_uint32_t flags;
    volatile apr_uint32_t reserved;
    volatile apr_uint64_t everything;
    volatile apr_uint64_t lists;
    volatile apr_uint64_t buckets[OP_GEN_BUCKETS];
} op_gen_table;

/* An empty table with EPOCH. */
void op_gen_init(op_gen_table *table, apr_uint64_t epoch);

/* The bucket of SCOPE (an ID or UID scope). */
unsigned op_gen_bucket(const op_scope *scope);

/* Increments the counter of SCOPE (the lists' own for OP_SCOPE_LISTS). */
void op_gen_bump(op_gen_table *table, const op_scope *scope);
void op_gen_bump_lists(op_gen_table *table);
void op_gen_bump_everything(op_gen_table *table);

/* Whether the follower completed a pass that started at most MAX_DELAY
 * before NOW. */
int op_gen_in_step(const op_gen_table *table, apr_time_t now,
                   apr_interval_time_t max_delay);

/* Records that a pass which started at START completed. */
void op_gen_mark_synced(op_gen_table *table, apr_time_t start);

apr_uint32_t op_gen_flags(const op_gen_table *table);
void op_gen_set_flags(op_gen_table *table, apr_uint32_t flags);

/* The text a key carries for an answer of SCOPE: the epoch, the counter
 * of everything and the scope's counter, "EPOCH.G.S" (hexadecimal epoch,
 * decimal counters). */
const char *op_gen_tokens(apr_pool_t *p, const op_gen_table *table,
                          const op_scope *scope);

#endif
