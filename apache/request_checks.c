/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request_checks.c - what is refused once Apache has authenticated the user.
 *
 * The request framing first (a body Orthanc would read differently from
 * Apache, or an encoded body an older Orthanc cannot survive), then the
 * access decision on Orthanc's reading of the request, then the identity
 * that will be passed on.  Each refusal has a status, a reason for people
 * and a log line (op_refuse).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_strings.h>

#include "logic/access_rules.h"
#include "logic/forward_headers.h"
#include "request_checks.h"
#include "request_context.h"

static int check_framing(request_rec *r, op_request *req)
{
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");

    /* HTTP/2 frames bodies itself and has no Transfer-Encoding (nghttp2
     * refuses a stream that sends one).  mod_http2 presents a body without
     * a length as "Transfer-Encoding: chunked", on a secondary connection
     * it always marks for closing: neither tells anything of the client's
     * framing, and the checks below would refuse every such upload. */
    if (r->proto_num >= HTTP_VERSION(2, 0)) {
        return OK;
    }
    if (te == NULL) {
        return OK;
    }
    if (strcasecmp(te, "chunked") != 0) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, apr_psprintf(r->pool,
                         "Transfer-Encoding '%s' is not accepted; only "
                         "'chunked' is", te), NULL);
    }
    /* Apache drops a Content-Length sent with Transfer-Encoding and, from
     * that one place of ap_read_request() only, marks the connection for
     * closing before any hook runs (a client's "Connection: close" is only
     * read when the response is sent): Orthanc would have read the length
     * instead. */
    if (r->connection->keepalive == AP_CONN_CLOSE) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, "the request has both "
                         "Content-Length and Transfer-Encoding", NULL);
    }
    return OK;
}

static int check_encoding(request_rec *r, op_request *req,
                          const op_dir_conf *conf)
{
    const char *encoding = apr_table_get(r->headers_in, "Content-Encoding");

    if (encoding == NULL || conf->encoded_body == 1 || !ap_request_has_body(r)
        || strcasecmp(encoding, "identity") == 0) {
        return OK;
    }
    return op_refuse(r, req, HTTP_UNSUPPORTED_MEDIA_TYPE, apr_psprintf(r->pool,
                     "request bodies with Content-Encoding '%s' are not "
                     "accepted (OrthancProxyAllowEncodedBody is off)", encoding),
                     NULL);
}

static int check_access(request_rec *r, op_request *req,
                        const op_dir_conf *conf)
{
    op_decision decision = op_decide(r->pool, conf->level, conf->rules,
                                     r->method, &req->path,
                                     req->mapping->prefix.path.segments->nelts);
    if (decision.allowed) {
        return OK;
    }
    return op_refuse(r, req, HTTP_FORBIDDEN, decision.reason, decision.rule);
}

static int check_user(request_rec *r, op_request *req, const op_dir_conf *conf)
{
    if (conf->user_header && r->user && !op_header_value_is_safe(r->user)) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, "the authenticated user "
                         "name contains control characters and cannot be "
                         "passed to Orthanc", NULL);
    }
    return OK;
}

int op_check_request(request_rec *r, op_request *req)
{
    const op_dir_conf *conf = op_dir_conf_get(r);
    int rc;

    if ((rc = check_framing(r, req)) != OK
        || (rc = check_encoding(r, req, conf)) != OK
        || (rc = check_access(r, req, conf)) != OK
        || (rc = check_user(r, req, conf)) != OK) {
        return rc;
    }
    return OK;
}
