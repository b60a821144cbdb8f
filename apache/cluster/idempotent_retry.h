/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idempotent_retry.h - a GET that a member dropped is asked again of the
 * balancer, once.
 */
#ifndef ORTHANC_PROXY_IDEMPOTENT_RETRY_H
#define ORTHANC_PROXY_IDEMPOTENT_RETRY_H

#include <httpd.h>

/* For a GET to a balancer mapping: watch for a member that fails before
 * it answers. */
void op_guard_idempotent_request(request_rec *r);

/* mod_proxy's request_status hook: asks again when the guard saw such a
 * failure; returns whether it did (*STATUS is then OK). */
int op_retry_dropped_request(int *status, request_rec *r);

void op_register_idempotent_retry(void);

#endif
