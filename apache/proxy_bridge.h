/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy_bridge.h - everything that touches mod_proxy's own structures.
 */
#ifndef ORTHANC_PROXY_PROXY_BRIDGE_H
#define ORTHANC_PROXY_PROXY_BRIDGE_H

#include <httpd.h>
#include <http_config.h>

#include "request_context.h"

/* Defines MAPPING's worker (or balancer) with PARAMS, at configuration time. */
const char *op_define_backend(cmd_parms *cmd, const op_mapping *mapping,
                              const char *params);

/* check_config: every mapping has its worker and the modules it needs. */
int op_check_backends(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s);

/* For this request only, mod_proxy does not forward "Expect: 100-continue". */
void op_keep_expect_from_backend(request_rec *r);

#endif
