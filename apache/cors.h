/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cors.h - OrthancProxyCORS: cross-origin access, off unless set.
 */
#ifndef ORTHANC_PROXY_CORS_H
#define ORTHANC_PROXY_CORS_H

#include <httpd.h>
#include <http_config.h>

#include "request_context.h"

const char *op_cmd_cors(cmd_parms *cmd, void *dconf, const char *args);

/* A preflight from an origin the configuration allows. */
int op_cors_allows_preflight(const request_rec *r);

/* check_access_ex, after mod_authz_core: preflights that passed the
 * Require lines needing no user skip authentication. */
int op_cors_admit_preflight(request_rec *r);

/* The CORS headers of a response to an allowed origin, errors included. */
void op_cors_add_response_headers(request_rec *r);

/* The local handler's answer to a preflight. */
int op_cors_answer_preflight(request_rec *r, op_request *req);

#endif
