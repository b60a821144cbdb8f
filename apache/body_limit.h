/* SPDX-License-Identifier: Apache-2.0 */
/*
 * body_limit.h - LimitRequestBody, which Apache skips on proxied requests.
 */
#ifndef ORTHANC_PROXY_BODY_LIMIT_H
#define ORTHANC_PROXY_BODY_LIMIT_H

#include <httpd.h>

#include "request_context.h"

void op_register_body_limit(void);

/* OK, or 413 for a declared length over the limit; a chunked body gets a
 * counting input filter. */
int op_enforce_body_limit(request_rec *r, op_request *req);

#endif
