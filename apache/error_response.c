/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error_response.c - the errors the proxy produces, as JSON.
 *
 * Whatever Apache or mod_proxy answers on a mapped prefix (a refusal, an
 * unreachable or silent Orthanc, a malformed request Apache rejected before
 * any hook ran) gets a small JSON body a JavaScript application can read.
 * Errors Orthanc itself produces are ordinary responses for Apache and pass
 * through untouched.  An ErrorDocument the administrator set wins.
 */
/* Before APR's headers: without offsetof, APR_OFFSETOF (under the brigade
 * and bucket macros) takes a member address through a null pointer, which
 * is undefined behaviour (UBSan and clang's -Wnull-pointer-subtraction). */
#include <stddef.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <mod_core.h>
#include <apr_strings.h>

#include "logic/json_error.h"
#include "logic/path_canon.h"
#include "cors.h"
#include "error_response.h"
#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

#define ERROR_FILTER "ORTHANC_PROXY_ERROR"

/* The request target's path, as sent; NULL when Apache rejected the
 * request line before reading a target. */
static const char *raw_path(request_rec *r)
{
    const char *query;

    if (r->unparsed_uri == NULL) {
        return NULL;
    }
    query = strchr(r->unparsed_uri, '?');
    return query ? apr_pstrmemdup(r->pool, r->unparsed_uri,
                                  query - r->unparsed_uri)
                 : r->unparsed_uri;
}

static const op_mapping *mapping_of(request_rec *r, const op_request *req)
{
    op_prefix_match how;
    return req ? req->mapping
               : op_mapping_by_uri(op_server_conf_get(r->server), raw_path(r),
                                   &how);
}

/* Apache rejects some malformed paths before any module sees them; say
 * why in the same words the module uses. */
static const char *explain(request_rec *r, const op_request *req)
{
    const char *path;

    if (req && req->reason) {
        return req->reason;
    }
    if (req && req->backend_error) {
        return req->backend_error;
    }
    if (r->status == HTTP_BAD_REQUEST && (path = raw_path(r)) != NULL) {
        op_path parsed;
        op_path_status status;

        if (strchr(r->unparsed_uri, '#')) {
            /* civetweb would read it as part of the path, Apache as a
             * fragment: Apache refuses it. */
            return "the request target contains '#'; percent-encode it as %23";
        }
        status = op_path_parse(r->pool, path, strlen(path), &parsed);
        if (status != OP_PATH_OK) {
            return op_path_status_reason(status);
        }
    }
    return op_default_error_message(r->status);
}

/* The refusals were logged where they were decided; the failures to reach
 * Orthanc are logged here, with the mapping and the backend. */
static void log_backend_failure(request_rec *r, const op_request *req,
                                const char *message)
{
    if (req && req->reason == NULL && req->action == OP_ACTION_PROXY
        && r->status >= HTTP_INTERNAL_SERVER_ERROR) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "%d %s: %s %s (mapping %s -> %s)", r->status, message,
                      r->method, ap_escape_logitem(r->pool, req->orthanc_path),
                      req->mapping->prefix.prefix,
                      req->mapping->backend.url);
    }
}

static void add_error_body(request_rec *r)
{
    const op_request *req = op_request_get(r);
    const char *message;

    if (r->status < HTTP_BAD_REQUEST || mapping_of(r, req) == NULL
        || ap_response_code_string(r, ap_index_of_response(r->status))) {
        return;
    }
    message = explain(r, req);
    log_backend_failure(r, req, message);
    op_cors_add_response_headers(r);
    ap_add_output_filter(ERROR_FILTER,
                         op_json_error(r->pool, r->status, message,
                                       req ? req->rule : NULL),
                         r, r->connection);
}

/* Replaces the HTML page Apache wrote with the JSON body prepared above. */
static apr_status_t error_body_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const char *body = f->ctx;
    apr_bucket *b, *next;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
    }
    if (body) {
        apr_size_t length = strlen(body);
        ap_set_content_type(r, "application/json; charset=utf-8");
        ap_set_content_length(r, length);
        if (!r->header_only) {
            APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_pool_create(
                body, length, r->pool, f->c->bucket_alloc));
        }
        f->ctx = NULL;
    }
    return ap_pass_brigade(f->next, bb);
}

void op_register_error_response(void)
{
    ap_register_output_filter(ERROR_FILTER, error_body_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
    ap_hook_insert_error_filter(add_error_body, NULL, NULL, APR_HOOK_MIDDLE);
}
