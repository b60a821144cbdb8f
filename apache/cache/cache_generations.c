/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_generations.c - the generation counters in mod_slotmem_shm (see
 * cache_generations.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <apr_strings.h>

#include "apache/shared_slots.h"
#include "cache_generations.h"

const char *op_cache_generations_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                        apr_array_header_t *backends)
{
    void **slots;
    apr_status_t rv;
    int i;

    if (backends->nelts == 0) {
        return NULL;
    }
    rv = op_shared_slots_create(pconf, ptemp, sizeof(op_cache_slot),
                                backends->nelts, &slots);
    if (rv == APR_ENOTIMPL) {
        return "mod_slotmem_shm is not loaded (Debian: a2enmod slotmem_shm)";
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(ptemp, "its shared memory (%" APR_SIZE_T_FMT
                            " bytes) could not be created: %pm",
                            sizeof(op_cache_slot) * backends->nelts, &rv);
    }
    for (i = 0; i < backends->nelts; i++) {
        op_cache_backend *backend = APR_ARRAY_IDX(backends, i,
                                                  op_cache_backend *);
        apr_uint64_t epoch;

        if ((rv = apr_generate_random_bytes((unsigned char *)&epoch,
                                            sizeof(epoch))) != APR_SUCCESS) {
            return apr_psprintf(ptemp, "no random epoch: %pm", &rv);
        }
        backend->slot = slots[i];
        op_gen_init(&backend->slot->gen, epoch);
    }
    return NULL;
}

const char *op_cache_tokens(const op_cache_backend *backend, apr_pool_t *p,
                            const op_cache_route *route, const char **why)
{
    const op_gen_table *gen;

    if (backend == NULL || backend->slot == NULL) {
        *why = "the cache has no shared memory";
        return NULL;
    }
    gen = &backend->slot->gen;
    if (!op_gen_in_step(gen, apr_time_now(), backend->max_delay)) {
        *why = "the change follower is behind";
        return NULL;
    }
    if (route->shows_labels && (op_gen_flags(gen) & OP_GEN_LABELS)) {
        *why = "the answer shows labels, whose changes Orthanc does not log";
        return NULL;
    }
    return op_gen_tokens(p, gen, &route->scope);
}

void op_cache_apply_bump(op_cache_backend *backend, const op_cache_bump *bump)
{
    op_gen_table *gen;

    if (backend == NULL || backend->slot == NULL) {
        return;
    }
    gen = &backend->slot->gen;
    if (bump->scope.kind != OP_SCOPE_NONE) {
        op_gen_bump(gen, &bump->scope);
    }
    if (bump->lists) {
        op_gen_bump_lists(gen);
    }
    if (bump->everything) {
        op_gen_bump_everything(gen);
    }
}
