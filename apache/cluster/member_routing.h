/* SPDX-License-Identifier: Apache-2.0 */
/*
 * member_routing.h - which Orthanc of a balancer takes a request.
 */
#ifndef ORTHANC_PROXY_MEMBER_ROUTING_H
#define ORTHANC_PROXY_MEMBER_ROUTING_H

#include <httpd.h>

/* fixups, after the module's own checks: pins a request that changes state
 * or names a job to the mapping's writer, and lets the balancer choose
 * for the others. */
int op_route_to_member(request_rec *r);

/* Registers mod_proxy's hooks that give Orthanc the client's own cookies. */
void op_register_member_routing(void);

#endif
