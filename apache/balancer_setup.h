/*
 * balancer_setup.h - a balancer of Orthancs, checked and set up when
 * Apache starts.
 */
#ifndef ORTHANC_PROXY_BALANCER_SETUP_H
#define ORTHANC_PROXY_BALANCER_SETUP_H

#include <httpd.h>

#include "mod_proxy.h"
#include "request_context.h"

/* Sets up BALANCER for MAPPING (members' defaults, the writer's sticky
 * route); returns NULL, or what is wrong for the configtest message. */
const char *op_setup_balancer(apr_pool_t *p, const op_mapping *mapping,
                              proxy_balancer *balancer);

#endif
