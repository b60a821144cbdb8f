/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_counters.h - each mapping's counters, in shared memory, added to
 * by every Apache child as its requests end.
 */
#ifndef ORTHANC_PROXY_STATUS_COUNTERS_H
#define ORTHANC_PROXY_STATUS_COUNTERS_H

#include "logic/traffic_counters.h"

/* post_config (the shared memory) and log_transaction (the counting). */
void op_register_status_counters(void);

/* Why the mappings have no counters, for the status page. */
const char *op_status_counters_missing(void);

/* Copies a mapping's counters as they are now. */
void op_status_counters_read(op_traffic_counters *shared,
                             op_traffic_counters *copy);

#endif
