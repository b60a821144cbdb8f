/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_request.h - what each request gives the audit trail.
 */
#ifndef ORTHANC_PROXY_AUDIT_REQUEST_H
#define ORTHANC_PROXY_AUDIT_REQUEST_H

#include <httpd.h>

/* fixups, after the module's own checks: a deletion or a modification is
 * attributed before it is forwarded (or refused when it cannot be); the
 * answers and bodies the audit program needs are kept as they pass. */
int op_audit_prepare(request_rec *r);

/* log_transaction: one record per request to the audit program, written
 * without waiting (a full pipe drops it and counts the loss). */
int op_audit_log(request_rec *r);

/* The filters that keep an answer's or a body's first bytes. */
void op_register_audit_filters(void);

#endif
