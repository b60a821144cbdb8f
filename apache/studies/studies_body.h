/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_body.h - the bodies OrthancProxyStudies must read before it
 * forwards a request: searches (rewritten), archives and bulk operations
 * of several resources, merges, modifications.
 *
 * They are small JSON texts, read whole (at most OP_STUDIES_BODY_MAX
 * bytes) through the request's input filters (LimitRequestBody's count
 * included), then given to mod_proxy from memory, as read or rewritten,
 * by an input filter of their own.  The filters that read them once are
 * taken out, so that none reads them twice; the audit trail's, added
 * later, sees what is forwarded.  Uploads are never read: they stream.
 */
#ifndef ORTHANC_PROXY_STUDIES_BODY_H
#define ORTHANC_PROXY_STUDIES_BODY_H

#include <httpd.h>

#define OP_STUDIES_BODY_MAX (1024 * 1024)

/* Reads R's whole body into *DATA (NUL-terminated, *LEN bytes); OK, or
 * the status of the refusal (already recorded by op_refuse). */
int op_studies_read_body(request_rec *r, const char **data, apr_size_t *len);

/* What mod_proxy will send as R's body: LEN bytes at DATA. */
void op_studies_forward_body(request_rec *r, const char *data, apr_size_t len);

void op_register_studies_body(void);

#endif
