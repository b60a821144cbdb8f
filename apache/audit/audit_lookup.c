/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_lookup.c - the child's questions to Orthanc, through the
 * module's libcurl client (apache/orthanc_http.h; audit_lookup.h).
 *
 * Only deletions and modifications ask (their resource may be gone once
 * Orthanc ran them): two or three small GETs before the request is
 * forwarded.  Viewing never waits for Orthanc: the audit program resolves
 * those IDs, off the request path.
 */
#include <httpd.h>
#include <http_config.h>
#include <apr_strings.h>

#include "apache/orthanc_http.h"
#include "apache/request_context.h"
#include "audit_lookup.h"

/* A look-up holds up the client's deletion: it must not wait long. */
#define LOOKUP_TIMEOUT apr_time_from_sec(10)

typedef struct {
    op_http_client *client;      /* NULL: a balancer, not asked yet */
} lookup;

static apr_status_t close_client(void *data)
{
    op_http_client_close(data);
    return APR_SUCCESS;
}

static const char *fetch(void *ctx, apr_pool_t *p, const char *method,
                         const char *path, const char *body, int *status,
                         const char **text, apr_size_t *len)
{
    lookup *l = ctx;
    op_http_answer answer;
    const char *err;

    if (l->client == NULL) {
        return "the mapping's Orthanc is a balancer, whose members the audit "
               "trail cannot ask yet";
    }
    err = op_http_request(l->client, p, method, path, body,
                          apr_time_now() + LOOKUP_TIMEOUT, &answer);
    if (err) {
        return err;
    }
    *status = (int)answer.status;
    *text = answer.body;
    *len = answer.length;
    return NULL;
}

op_audit_resolver op_audit_lookup_resolver(request_rec *r)
{
    const op_request *req = op_request_get(r);
    lookup *l = apr_pcalloc(r->pool, sizeof(*l));
    op_audit_resolver resolver;

    if (req->mapping->backend.kind != OP_BACKEND_BALANCER) {
        /* One connection for the request's look-ups, closed with it. */
        l->client = op_http_client_make(r->pool, req->mapping->backend.url,
                                        op_dir_conf_get(r)->authorization,
                                        NULL, NULL);
        apr_pool_cleanup_register(r->pool, l->client, close_client,
                                  apr_pool_cleanup_null);
    }
    memset(&resolver, 0, sizeof(resolver));
    resolver.fetch = fetch;
    resolver.fetch_ctx = l;
    return resolver;
}
