/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cors_policy.h - which other origins may call Orthanc through the proxy.
 *
 * OrthancProxyCORS lists web origins ("https://viewer.hospital.local") or
 * "*".  A listed origin gets its own name back with credentials allowed; "*"
 * lets any origin read, never with credentials.  A preflight may not ask to
 * send a header the proxy owns (method overrides, forwarding headers).
 */
#ifndef ORTHANC_PROXY_CORS_POLICY_H
#define ORTHANC_PROXY_CORS_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>

/* NULL when ORIGIN can be listed: "*" or scheme://host[:port] with scheme
 * http or https and nothing after the authority; else what is wrong. */
const char *op_cors_origin_check(apr_pool_t *p, const char *origin);

/* Whether the browser's ORIGIN header matches an entry of ALLOWED (const
 * char *; "*" matches any origin but "null").  Scheme and host compare
 * without case. */
int op_cors_origin_allowed(const apr_array_header_t *allowed,
                           const char *origin);

/* Whether ALLOWED is "*" (answers without credentials). */
int op_cors_is_wildcard(const apr_array_header_t *allowed);

/* For Access-Control-Request-Headers REQUESTED (comma-separated): NULL when
 * every name may be allowed, else the first that may not (not a token, or
 * a header the proxy owns, USER_HEADER included when not NULL). */
const char *op_cors_refused_header(apr_pool_t *p, const char *requested,
                                   const char *user_header);

#endif
