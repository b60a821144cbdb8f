/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shared_slots.h - tables in mod_slotmem_shm with one slot per mapping or
 * per followed Orthanc: the status page's counters, the cache's generation
 * counters, the owners of jobs started by users restricted to some studies.
 */
#ifndef OP_SHARED_SLOTS_H
#define OP_SHARED_SLOTS_H

#include <apr_pools.h>

/* N zeroed slots of SIZE bytes in mod_slotmem_shm, made in PCONF, so anew
 * at each restart; (*SLOTS)[i] is the i-th (the array in PTEMP).
 * APR_ENOTIMPL when mod_slotmem_shm is not loaded. */
apr_status_t op_shared_slots_create(apr_pool_t *pconf, apr_pool_t *ptemp,
                                    apr_size_t size, int n, void ***slots);

/* Whether mod_slotmem_shm is loaded. */
int op_shared_slots_available(void);

#endif
