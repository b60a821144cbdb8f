/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balancer_setup.h - a balancer of Orthancs, checked and set up when
 * Apache starts.
 */
#ifndef ORTHANC_PROXY_BALANCER_SETUP_H
#define ORTHANC_PROXY_BALANCER_SETUP_H

#include <httpd.h>

#include "mod_proxy.h"
#include "request_context.h"

/* The name of the sticky session mod_proxy_balancer reads the module's pin
 * from (member_routing.c). */
#define OP_PIN_COOKIE "ORTHANC_PROXY_ROUTE"

/* Sets up BALANCER for MAPPING (members' defaults, the writer's sticky
 * route); returns NULL, or what is wrong for the configtest message. */
const char *op_setup_balancer(apr_pool_t *p, const op_mapping *mapping,
                              proxy_balancer *balancer);

/* The member of MAPPING's balancer that served R (BALANCER_WORKER_NAME)
 * dropped it before answering: it is put in error, as mod_proxy does with
 * a member it cannot connect to, so that the balancer leaves it out until
 * its retry time passes or its health check passes. */
void op_member_dropped_request(request_rec *r, const op_mapping *mapping);

#endif
