/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_memory.c - OrthancProxyStudies' facts kept between requests
 * (see studies_memory.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "apache/cache/cache_generations.h"
#include "apache/request_context.h"
#include "studies_memory.h"

APLOG_USE_MODULE(orthanc_proxy);

typedef struct {
    const char *stamp;
    const char *text;
} fact;

struct op_studies_memory {
    apr_thread_mutex_t *lock;   /* the process's threads share it */
    apr_pool_t *pool;           /* the facts; cleared when full */
    apr_hash_t *facts;          /* key -> fact */
    apr_size_t bytes;
};

static op_studies_memory *memory_make(apr_pool_t *pchild, server_rec *s)
{
    op_studies_memory *mem = apr_pcalloc(pchild, sizeof(*mem));
    apr_status_t rv;

    rv = apr_thread_mutex_create(&mem->lock, APR_THREAD_MUTEX_DEFAULT,
                                 pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "OrthancProxyStudies: "
                     "no lock for the memory of decisions; every decision "
                     "asks Orthanc");
        return NULL;
    }
    apr_pool_create(&mem->pool, pchild);
    apr_pool_tag(mem->pool, "orthanc_proxy_studies_memory");
    mem->facts = apr_hash_make(mem->pool);
    return mem;
}

void op_studies_memory_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_array_header_t *mappings = op_distinct_mappings(pchild, s);
    int i;

    for (i = 0; i < mappings->nelts; i++) {
        op_mapping *m = APR_ARRAY_IDX(mappings, i, op_mapping *);
        if (m->cache_backend) {
            m->studies_memory = memory_make(pchild, s);
        }
    }
}

const char *op_studies_memory_stamp(const op_mapping *mapping, apr_pool_t *p,
                                    op_scope_kind kind, const char *id,
                                    int labels)
{
    op_cache_route route;
    const char *why;

    if (mapping->studies_memory == NULL) {
        return NULL;
    }
    if (kind == OP_SCOPE_NONE) {
        return "";
    }
    memset(&route, 0, sizeof(route));
    route.cls = OP_CACHE_AGGREGATE;
    route.scope.kind = kind;
    route.scope.id = id;
    route.shows_labels = labels;
    return op_cache_tokens(mapping->cache_backend, p, &route, &why);
}

const char *op_studies_memory_recall(const op_mapping *mapping,
                                     apr_pool_t *p, const char *key,
                                     const char *stamp)
{
    op_studies_memory *mem = mapping->studies_memory;
    const char *text = NULL;
    const fact *f;

    if (mem == NULL || stamp == NULL
        || apr_thread_mutex_lock(mem->lock) != APR_SUCCESS) {
        return NULL;
    }
    f = apr_hash_get(mem->facts, key, APR_HASH_KEY_STRING);
    if (f && strcmp(f->stamp, stamp) == 0) {
        /* Copied before the lock is let go: another thread may empty the
         * memory at once. */
        text = apr_pstrdup(p, f->text);
    }
    apr_thread_mutex_unlock(mem->lock);
    return text;
}

void op_studies_memory_keep(const op_mapping *mapping, const char *key,
                            const char *stamp, const char *text)
{
    op_studies_memory *mem = mapping->studies_memory;
    apr_size_t size;
    fact *f;

    if (mem == NULL || stamp == NULL
        || apr_thread_mutex_lock(mem->lock) != APR_SUCCESS) {
        return;
    }
    size = strlen(key) + strlen(stamp) + strlen(text) + 3 + sizeof(*f);
    if (apr_hash_count(mem->facts) >= OP_STUDIES_MEMORY_ENTRIES
        || mem->bytes + size > OP_STUDIES_MEMORY_BYTES) {
        /* Emptied rather than sorted by age: its facts are found again
         * with one question each. */
        apr_pool_clear(mem->pool);
        mem->facts = apr_hash_make(mem->pool);
        mem->bytes = 0;
    }
    f = apr_palloc(mem->pool, sizeof(*f));
    f->stamp = apr_pstrdup(mem->pool, stamp);
    f->text = apr_pstrdup(mem->pool, text);
    apr_hash_set(mem->facts, apr_pstrdup(mem->pool, key), APR_HASH_KEY_STRING,
                 f);
    mem->bytes += size;
    apr_thread_mutex_unlock(mem->lock);
}
