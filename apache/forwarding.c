/* SPDX-License-Identifier: Apache-2.0 */
/*
 * forwarding.c - after authentication, prepare what mod_proxy sends.
 *
 * Runs as the very last fixup, once Apache's own access control has let the
 * request through: the module's refusals (request_checks.c, body_limit.c)
 * come next, then what Orthanc needs of the request (HEAD asked as GET, no
 * Expect forwarded) and of the answer (response_headers.c).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_protocol.h>
#include <apr_strings.h>

#include "logic/forward_headers.h"
#include "body_limit.h"
#include "cors.h"
#include "forwarding.h"
#include "proxy_bridge.h"
#include "request_checks.h"
#include "request_context.h"
#include "response_headers.h"

/* The host[:port] of the public URL, built the way Apache builds its own
 * self-referencing URLs (UseCanonicalName, ServerName with its port,
 * ap_get_server_port()): a client that sends Host without the port still
 * gets the server's port, and with UseCanonicalName On no client chooses
 * the host Orthanc writes into answers that may be cached and shared. */
static const char *public_host(request_rec *r)
{
    apr_port_t port = ap_get_server_port(r);
    const char *host = ap_get_server_name_for_url(r);

    if (!op_host_is_plain(host)) {
        /* Only with HttpProtocolOptions Unsafe can a client's Host get
         * here unchecked: it is not repeated to Orthanc. */
        host = r->server->server_hostname;
    }
    return ap_is_default_port(port, r)
           ? host : apr_psprintf(r->pool, "%s:%u", host, (unsigned)port);
}

/* Orthanc answers HEAD with 404: ask for a GET, which mod_proxy will not
 * relay the body of, and close that backend connection rather than read
 * a body nobody wants. */
static void turn_head_into_get(request_rec *r)
{
    if (r->header_only && strcmp(r->method, "HEAD") == 0) {
        r->method = "GET";
        apr_table_setn(r->subprocess_env, "proxy-nokeepalive", "1");
    }
}

int op_prepare_forwarding(request_rec *r)
{
    op_request *req = op_request_get(r);
    int rc;

    if (req == NULL || req->action != OP_ACTION_PROXY
        || r->proxyreq != PROXYREQ_REVERSE) {
        return DECLINED;
    }
    req->public_host = public_host(r);
    op_cors_add_response_headers(r);
    if ((rc = op_check_request(r, req)) != OK
        || (rc = op_enforce_body_limit(r, req)) != OK) {
        return rc;
    }
    turn_head_into_get(r);
    if (r->expecting_100) {
        op_keep_expect_from_backend(r);
    }
    op_add_response_headers_filter(r);
    return DECLINED;
}
