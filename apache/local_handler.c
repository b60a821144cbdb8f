/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_handler.c - the answers that never reach Orthanc: the redirect of
 * the bare prefix to the prefix with its slash, and CORS preflights (cors.c).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_protocol.h>
#include <apr_strings.h>

#include "cors.h"
#include "local_handler.h"
#include "request_context.h"

int op_local_handler(request_rec *r)
{
    op_request *req;
    const char *target;

    if (r->handler == NULL || strcmp(r->handler, OP_LOCAL_HANDLER) != 0
        || (req = op_request_get(r)) == NULL) {
        return DECLINED;
    }
    if (req->action == OP_ACTION_PREFLIGHT) {
        return op_cors_answer_preflight(r, req);
    }
    if (req->action != OP_ACTION_REDIRECT) {
        return DECLINED;
    }
    /* Orthanc's pages use relative links: they only work below the slash. */
    target = apr_pstrcat(r->pool, req->mapping->prefix.prefix,
                         r->args ? "?" : "", r->args ? r->args : "", NULL);
    apr_table_setn(r->headers_out, "Location",
                   ap_construct_url(r->pool, target, r));
    return r->method_number == M_GET ? HTTP_MOVED_PERMANENTLY
                                     : HTTP_PERMANENT_REDIRECT;
}
