/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shared_slots.c - tables in mod_slotmem_shm (see shared_slots.h).
 */
#include <string.h>

#include <httpd.h>
#include <ap_provider.h>
#include <ap_slotmem.h>

#include "shared_slots.h"

static const ap_slotmem_provider_t *slotmem_provider(void)
{
    return ap_lookup_provider(AP_SLOTMEM_PROVIDER_GROUP, "shm",
                              AP_SLOTMEM_PROVIDER_VERSION);
}

int op_shared_slots_available(void)
{
    return slotmem_provider() != NULL;
}

apr_status_t op_shared_slots_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                    apr_size_t size, int n, void ***slots)
{
    const ap_slotmem_provider_t *provider = slotmem_provider();
    ap_slotmem_instance_t *table;
    apr_status_t rv;
    int i;

    if (provider == NULL) {
        return APR_ENOTIMPL;
    }
    /* No name: an anonymous table, which mod_slotmem_shm does not try to
     * keep across restarts (what it holds is only valid for one). */
    rv = provider->create(&table, NULL, size, (unsigned int)n, 0, pconf);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *slots = apr_pcalloc(ptemp, sizeof(void *) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        if ((rv = provider->dptr(table, (unsigned int)i, &(*slots)[i]))
            != APR_SUCCESS) {
            return rv;
        }
        memset((*slots)[i], 0, size);
    }
    return APR_SUCCESS;
}
