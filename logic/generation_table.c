/* SPDX-License-Identifier: Apache-2.0 */
/*
 * generation_table.c - generation counters (see generation_table.h).
 */
#include "generation_table.h"

#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "cache_key.h"

void op_gen_init(op_gen_table *table, apr_uint64_t epoch)
{
    memset((void *)table, 0, sizeof(*table));
    table->epoch = epoch;
}

unsigned op_gen_bucket(const op_scope *scope)
{
    char letter = op_scope_letter(scope->kind);
    apr_uint64_t hash = op_hash64(OP_HASH64_INIT, &letter, 1);

    if (scope->id) {
        hash = op_hash64(hash, scope->id, strlen(scope->id));
    }
    /* FNV-1a's low bits are weak for similar texts: mix first. */
    hash ^= hash >> 33;
    hash *= APR_UINT64_C(0xff51afd7ed558ccd);
    hash ^= hash >> 33;
    return (unsigned)(hash & (OP_GEN_BUCKETS - 1));
}

static volatile apr_uint64_t *counter_of(op_gen_table *table,
                                         const op_scope *scope)
{
    if (scope->kind == OP_SCOPE_LISTS || scope->id == NULL) {
        return &table->lists;
    }
    return &table->buckets[op_gen_bucket(scope)];
}

void op_gen_bump(op_gen_table *table, const op_scope *scope)
{
    apr_atomic_inc64(counter_of(table, scope));
}

void op_gen_bump_lists(op_gen_table *table)
{
    apr_atomic_inc64(&table->lists);
}

void op_gen_bump_everything(op_gen_table *table)
{
    apr_atomic_inc64(&table->everything);
}

int op_gen_in_step(const op_gen_table *table, apr_time_t now,
                   apr_interval_time_t max_delay)
{
    apr_uint64_t start = apr_atomic_read64(
        (volatile apr_uint64_t *)&table->sync_start);
    return start != 0 && (apr_time_t)start + max_delay >= now;
}

void op_gen_mark_synced(op_gen_table *table, apr_time_t start)
{
    apr_atomic_set64(&table->sync_start, (apr_uint64_t)start);
}

apr_uint32_t op_gen_flags(const op_gen_table *table)
{
    return apr_atomic_read32((volatile apr_uint32_t *)&table->flags);
}

void op_gen_set_flags(op_gen_table *table, apr_uint32_t flags)
{
    apr_atomic_set32(&table->flags, flags);
}

const char *op_gen_tokens(apr_pool_t *p, const op_gen_table *table,
                          const op_scope *scope)
{
    op_gen_table *t = (op_gen_table *)table;
    apr_uint64_t everything = apr_atomic_read64(&t->everything);
    apr_uint64_t own = apr_atomic_read64(counter_of(t, scope));

    return apr_psprintf(p, "%016" APR_UINT64_T_HEX_FMT ".%" APR_UINT64_T_FMT
                        ".%" APR_UINT64_T_FMT, table->epoch, everything, own);
}
