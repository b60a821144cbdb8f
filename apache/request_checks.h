/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request_checks.h - what is refused after authentication.
 */
#ifndef ORTHANC_PROXY_REQUEST_CHECKS_H
#define ORTHANC_PROXY_REQUEST_CHECKS_H

#include <httpd.h>

#include "request_context.h"

/* OK, or the status of the refusal (op_refuse). */
int op_check_request(request_rec *r, op_request *req);

#endif
