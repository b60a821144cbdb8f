/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request_context.h - what the request-time parts of mod_orthanc_proxy
 * share: the configuration records, the per-request record, and the few
 * functions that read them or refuse a request.
 *
 * This layer sits below every Apache-facing part and above logic/: it calls
 * none of the parts that use it, so the picture of who calls whom has no
 * cycle (docs/development.md, "Architecture"; tests/static/layering.sh checks it).
 */
#ifndef ORTHANC_PROXY_REQUEST_CONTEXT_H
#define ORTHANC_PROXY_REQUEST_CONTEXT_H

#include <httpd.h>
#include <http_config.h>

#include "logic/access_rules.h"
#include "logic/directive_args.h"
#include "logic/path_canon.h"
#include "logic/traffic_counters.h"

/* The module record (mod_orthanc_proxy.c): the key under which httpd keeps
 * the module's configuration and per-request data. */
extern module AP_MODULE_DECLARE_DATA orthanc_proxy_module;

/* One OrthancProxy directive. */
typedef struct {
    op_prefix   prefix;
    op_backend  backend;
    const char *defined_at;   /* "file:line", for configuration messages */
    /* writer=ROUTE on a balancer: the member that takes every request that
     * changes state or names a job (cluster/member_routing.c), NULL if none; and
     * the sticky-session cookie that pins a request to it. */
    const char *writer_route;
    const char *writer_pin;
    /* In shared memory, set when Apache starts; NULL when nothing is
     * counted (status/status_counters.c). */
    op_traffic_counters *counters;
    /* The audit trail: this mapping's Orthanc in the audit program's
     * table (apache/audit/audit_setup.c), -1 when not audited. */
    int audit_backend;
    /* OrthancProxyCache: the backend's generation counters, set when
     * Apache starts (cache/cache_setup.c); NULL when the cache does not follow
     * this backend. */
    struct op_cache_backend *cache_backend;
    /* OrthancProxyStudies' facts kept between requests, per process (made
     * at child_init where the cache follows the backend); NULL if none. */
    struct op_studies_memory *studies_memory;
    /* The jobs users restricted to some studies started through this
     * mapping, in shared memory (apache/studies/studies_jobs.c); NULL
     * without mod_slotmem_shm. */
    struct op_job_owners *job_owners;
} op_mapping;

/* The cache's settings and state of one server (apache/cache/cache_config.h). */
struct op_cache_server;

/* The audit trail's settings of one server (apache/audit/audit_config.h). */
struct op_audit_server;

/* Per server and virtual host. */
typedef struct {
    /* op_mapping *, own ones first, then those inherited from the main server */
    apr_array_header_t *mappings;
    struct op_cache_server *cache;   /* never NULL */
    struct op_audit_server *audit;   /* never NULL */
} op_server_conf;

/* Per directory (server defaults and <Location>); every field can be
 * left unset so that an enclosing section's value applies. */
typedef struct {
    op_level level;                /* OrthancProxyAccess */
    apr_array_header_t *rules;     /* op_rule: enclosing sections' first */
    int credentials_set;
    const char *authorization;     /* "Basic ..." for Orthanc, NULL if off */
    const char *credentials_user;  /* named in logs; never the password */
    int user_header_set;
    const char *user_header;       /* OrthancProxyUserHeader, NULL if off */
    int encoded_body;              /* OrthancProxyAllowEncodedBody: -1 unset */
    int cors_set;
    apr_array_header_t *cors_origins; /* OrthancProxyCORS, NULL if off */
    int cache;                     /* OrthancProxyCache: -1 unset, 0 off, 1 on */
    apr_int64_t cache_max_age[2];  /* OrthancProxyCacheMaxAge (seconds):
                                    * content, aggregates; -1 unset */
    int audit;                     /* OrthancProxyAudit: -1 unset, 0, 1 */
    int audit_window[2];           /* OrthancProxyAuditWindow: quiet,
                                    * longest (seconds); -1 unset */
    /* OrthancProxyStudies lines (struct op_studies_line *), enclosing
     * sections' first; NULL when none applies (apache/studies/). */
    apr_array_header_t *studies;
} op_dir_conf;

typedef enum {
    OP_ACTION_PROXY,          /* hand over to mod_proxy */
    OP_ACTION_REDIRECT,       /* "/prefix" -> "/prefix/" */
    OP_ACTION_PREFLIGHT       /* a CORS preflight, answered here */
} op_action;

/* What the module learnt about one request it owns. */
typedef struct {
    const op_mapping *mapping;
    op_action   action;
    op_path     path;           /* Orthanc's reading of the whole path */
    const char *orthanc_path;   /* decoded, below the prefix: "/patients" */
    const char *backend_path;   /* encoded, below the prefix, on the wire */
    const char *public_host;    /* host[:port] the client asked for */
    /* Set when the module refuses the request; read by the error body. */
    const char *reason;
    const char *rule;
    /* The client's Cookie headers while the balancer reads the module's
     * pin in their place (cluster/member_routing.c); NULL when not routed. */
    apr_array_header_t *client_cookies;
    /* Set when mod_proxy's failure to reach Orthanc has a known cause
     * (backend_request.c); the error body and its log line give it. */
    const char *backend_error;
    /* Why a Require orthanc-access line said no (authz_provider.c), kept
     * until Apache's authorization has decided. */
    struct op_authz_denial *authz_denial;
    int admitted;               /* Apache's access control let it through */
    /* Set when OrthancProxyCache handles the request (cache/cache_request.c). */
    struct op_cache_request *cache;
    /* Set when the audit trail records the request (audit/audit_request.c). */
    struct op_audit_request *audit;
    /* Set when OrthancProxyStudies restricts the request's user to some
     * studies (apache/studies/studies_request.c). */
    struct op_studies_request *studies;
    /* Set when the answer depends on the user's studies (a list, a
     * search, answered filtered): never taken from, or given to,
     * OrthancProxyCache.  A single study's answers do not: the study was
     * checked before mod_cache's handler runs (CacheQuickHandler Off). */
    int answer_per_scope;
} op_request;

op_server_conf *op_server_conf_get(const server_rec *s);
const op_dir_conf *op_dir_conf_get(const request_rec *r);

/* Every mapping of MAIN and its virtual hosts once (op_mapping *): a
 * virtual host lists the main server's after its own. */
apr_array_header_t *op_distinct_mappings(apr_pool_t *p, server_rec *main);

/* The request's record; NULL when no mapping owns the request. */
op_request *op_request_get(const request_rec *r);

/* Gives R a fresh record owned by MAPPING (every other field zero). */
op_request *op_request_attach(request_rec *r, const op_mapping *mapping);

/* The mapping with the longest prefix that covers the request, read as
 * Apache reads URI (op_uri_match_prefix) or as Orthanc reads PATH
 * (op_path_match_prefix); NULL if none.  *HOW says how it matched. */
const op_mapping *op_mapping_by_uri(const op_server_conf *conf,
                                    const char *uri, op_prefix_match *how);
const op_mapping *op_mapping_by_path(const op_server_conf *conf,
                                     const op_path *path, op_prefix_match *how);

/* Records why REQ is refused (read by the JSON error body), logs it and
 * returns STATUS, for the hook to return. */
int op_refuse(request_rec *r, op_request *req, int status,
              const char *reason, const char *rule);

#endif
