/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request_context.c - the records every request-time part reads, found
 * through the module record as httpd keeps them, and the one way to refuse
 * a request (see request_context.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "request_context.h"

APLOG_USE_MODULE(orthanc_proxy);

op_server_conf *op_server_conf_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &orthanc_proxy_module);
}

apr_array_header_t *op_distinct_mappings(apr_pool_t *p, server_rec *main)
{
    apr_array_header_t *all = apr_array_make(p, 4, sizeof(op_mapping *));
    server_rec *s;

    for (s = main; s; s = s->next) {
        const op_server_conf *conf = op_server_conf_get(s);
        int i, j;

        for (i = 0; i < conf->mappings->nelts; i++) {
            op_mapping *mapping = APR_ARRAY_IDX(conf->mappings, i,
                                                op_mapping *);
            for (j = 0; j < all->nelts
                        && APR_ARRAY_IDX(all, j, op_mapping *) != mapping; j++) {
            }
            if (j == all->nelts) {
                APR_ARRAY_PUSH(all, op_mapping *) = mapping;
            }
        }
    }
    return all;
}

const op_dir_conf *op_dir_conf_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &orthanc_proxy_module);
}

op_request *op_request_get(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &orthanc_proxy_module);
}

op_request *op_request_attach(request_rec *r, const op_mapping *mapping)
{
    op_request *req = apr_pcalloc(r->pool, sizeof(*req));
    req->mapping = mapping;
    ap_set_module_config(r->request_config, &orthanc_proxy_module, req);
    return req;
}

typedef op_prefix_match (*prefix_test)(const void *subject,
                                       const op_mapping *mapping);

static op_prefix_match test_orthanc_path(const void *subject,
                                         const op_mapping *mapping)
{
    return op_path_match_prefix(subject, &mapping->prefix.path);
}

static op_prefix_match test_apache_uri(const void *subject,
                                       const op_mapping *mapping)
{
    return op_uri_match_prefix(subject, mapping->prefix.prefix_bare);
}

/* The mapping with the longest prefix that covers SUBJECT. */
static const op_mapping *longest_mapping(const op_server_conf *conf,
                                         prefix_test test, const void *subject,
                                         op_prefix_match *how)
{
    const op_mapping *best = NULL;
    int i;

    *how = OP_PREFIX_NONE;
    for (i = 0; i < conf->mappings->nelts; i++) {
        const op_mapping *mapping = APR_ARRAY_IDX(conf->mappings, i,
                                                  const op_mapping *);
        op_prefix_match match = test(subject, mapping);
        if (match != OP_PREFIX_NONE
            && (best == NULL || mapping->prefix.path.segments->nelts
                                > best->prefix.path.segments->nelts)) {
            best = mapping;
            *how = match;
        }
    }
    return best;
}

const op_mapping *op_mapping_by_uri(const op_server_conf *conf,
                                    const char *uri, op_prefix_match *how)
{
    return longest_mapping(conf, test_apache_uri, uri, how);
}

const op_mapping *op_mapping_by_path(const op_server_conf *conf,
                                     const op_path *path, op_prefix_match *how)
{
    return longest_mapping(conf, test_orthanc_path, path, how);
}

int op_refuse(request_rec *r, op_request *req, int status, const char *reason,
              const char *rule)
{
    req->reason = reason;
    req->rule = rule;
    /* The path and the reason quote the client: escape them for the log. */
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "refused with %d: %s %s (mapping %s -> %s)%s%s: %s", status,
                  r->method, ap_escape_logitem(r->pool, req->orthanc_path
                                                        ? req->orthanc_path
                                                        : r->uri),
                  req->mapping->prefix.prefix, req->mapping->backend.url,
                  rule ? ", rule " : "", rule ? rule : "",
                  ap_escape_logitem(r->pool, reason));
    return status;
}
