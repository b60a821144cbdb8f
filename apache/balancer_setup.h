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
 * from (cluster/member_routing.c). */
#define OP_PIN_COOKIE "ORTHANC_PROXY_ROUTE"

/* Sets up BALANCER for MAPPING (members' defaults, the writer's sticky
 * route); returns NULL, or what is wrong for the configtest message. */
const char *op_setup_balancer(apr_pool_t *p, const op_mapping *mapping,
                              proxy_balancer *balancer);

/* The member of MAPPING's balancer that served R (BALANCER_WORKER_NAME)
 * dropped it before answering: it is put in error, as mod_proxy does with
 * a member it cannot connect to, so that the balancer leaves it out until
 * its retry time passes or its health check passes.  Not the writer
 * (writer=): writes and jobs never fail over, and would all be refused
 * meanwhile. */
void op_member_dropped_request(request_rec *r, const op_mapping *mapping);

/* Before a request of MAPPING (a balancer with writer=) is routed: the
 * balancer's sticky session is the module's again if balancer-manager
 * changed it at run time (logged). */
void op_keep_sticky_session(request_rec *r, const op_mapping *mapping);

/* A member of a balancer, as the cache's change follower sees it. */
typedef struct {
    const char *url;             /* the member's URL (BalancerMember) */
    const char *route;           /* route=, or NULL */
    const proxy_worker *worker;  /* its status lives in shared memory */
} op_member_ref;

/* The members of the balancer BALANCER_URL (balancer://NAME/) of server
 * S, in the order of the configuration (empty if there is none). */
apr_array_header_t *op_balancer_members(apr_pool_t *p, const server_rec *s,
                                        const char *balancer_url);

/* How fit MEMBER is right now: 2 usable, 1 usable but drained or on
 * standby, 0 not usable (in error, disabled, stopped, its health check
 * failing). */
int op_member_health(const op_member_ref *member);

#endif
