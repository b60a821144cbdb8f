/* SPDX-License-Identifier: Apache-2.0 */
/*
 * translate.c - which requests are the module's, and where they go.
 *
 * pre_translate_name reads the raw path as Orthanc will (logic/path_canon.c)
 * before Apache decodes it, picks the mapping by longest prefix, refuses a
 * path that Apache and Orthanc would map differently, and works out the
 * method Orthanc will run (logic/method_override.c): <Location>, <Limit> and
 * Require then judge what Orthanc will really do.  translate_name hands the
 * request to mod_proxy the way ProxyPass does, on the worker defined at
 * configuration time, or to the local handler (local_handler.c).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "logic/method_override.h"
#include "logic/path_canon.h"
#include "cors.h"
#include "local_handler.h"
#include "request_context.h"
#include "translate.h"

static int refuse_unreadable(request_rec *r, const op_mapping *mapping,
                             const char *reason)
{
    return op_refuse(r, op_request_attach(r, mapping), HTTP_BAD_REQUEST,
                     reason, NULL);
}

/* Orthanc's method, decided before Apache's own <Limit> and Require see
 * the request, so that they judge what Orthanc will do. */
static int apply_effective_method(request_rec *r, op_request *req)
{
    const char *effective, *query;
    const char *err = op_resolve_method(r->pool, r->method, r->headers_in,
                                        r->args, &effective, &query);
    if (err) {
        return op_refuse(r, req, HTTP_BAD_REQUEST, err, NULL);
    }
    if (strcmp(effective, r->method) != 0) {
        r->method = effective;
        r->method_number = ap_method_number_of(effective);
    }
    r->args = (char *)query;
    return OK;
}

int op_map_request(request_rec *r)
{
    const op_server_conf *conf = op_server_conf_get(r->server);
    const op_mapping *by_apache, *by_orthanc;
    op_prefix_match apache_how, orthanc_how;
    op_path_status status;
    apr_uri_t target;
    op_request *req;
    op_path path;

    if (conf->mappings->nelts == 0 || r->proxyreq != PROXYREQ_NONE) {
        return DECLINED;
    }
    by_apache = op_mapping_by_uri(conf, r->uri, &apache_how);
    if (apr_uri_parse(r->pool, r->unparsed_uri, &target) != APR_SUCCESS
        || target.path == NULL) {
        return by_apache ? refuse_unreadable(r, by_apache,
                                             "the request target cannot be read")
                         : DECLINED;
    }
    status = op_path_parse(r->pool, target.path, strlen(target.path), &path);
    if (status != OP_PATH_OK) {
        return by_apache ? refuse_unreadable(r, by_apache,
                                             op_path_status_reason(status))
                         : DECLINED;
    }
    by_orthanc = op_mapping_by_path(conf, &path, &orthanc_how);
    if (by_orthanc == NULL && by_apache == NULL) {
        return DECLINED;
    }
    if (by_orthanc != by_apache) {
        return refuse_unreadable(r, by_orthanc ? by_orthanc : by_apache,
                                 "Apache and Orthanc would read this path "
                                 "differently (encoded slashes, backslashes "
                                 "or dot segments around the prefix)");
    }

    req = op_request_attach(r, by_orthanc);
    req->path = path;
    req->action = orthanc_how == OP_PREFIX_BARE ? OP_ACTION_REDIRECT
                                                : OP_ACTION_PROXY;
    {
        int below = by_orthanc->prefix.path.segments->nelts;
        req->orthanc_path = op_path_join(r->pool, &path, below, OP_PATH_DECODED);
        req->backend_path = op_path_join(r->pool, &path, below, OP_PATH_ENCODED);
    }

    if (req->action == OP_ACTION_PROXY) {
        int rc;
        /* <Location> sections and logs now see what Orthanc will route. */
        r->uri = op_path_join(r->pool, &path, 0, OP_PATH_DECODED);
        if ((rc = apply_effective_method(r, req)) != OK) {
            return rc;
        }
    }
    /* The path is final: Apache must not decode it a second time. */
    return DONE;
}

int op_hand_over(request_rec *r)
{
    op_request *req = op_request_get(r);

    if (req == NULL || req->reason != NULL) {
        return DECLINED;
    }
    if (req->action == OP_ACTION_PROXY && op_cors_allows_preflight(r)) {
        req->action = OP_ACTION_PREFLIGHT;
    }
    if (req->action != OP_ACTION_PROXY) {
        r->handler = OP_LOCAL_HANDLER;
        r->filename = apr_pstrcat(r->pool, OP_LOCAL_HANDLER ":", r->uri, NULL);
        return OK;
    }
    /* Only configuration names the backend: the client contributes the
     * re-encoded path below the prefix, and the query through r->args. */
    r->filename = apr_pstrcat(r->pool, "proxy:", req->mapping->backend.url,
                              req->backend_path + 1, NULL);
    r->handler = "proxy-server";
    r->proxyreq = PROXYREQ_REVERSE;
    apr_table_setn(r->notes, "proxy-noencode", "1");
    return OK;
}

int op_skip_file_walk(request_rec *r)
{
    const op_request *req = op_request_get(r);
    return req && req->action != OP_ACTION_PROXY ? OK : DECLINED;
}
