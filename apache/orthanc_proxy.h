/*
 * orthanc_proxy.h - what the Apache-facing parts of mod_orthanc_proxy share:
 * the configuration records, the per-request record and the entry points of
 * each part.
 */
#ifndef ORTHANC_PROXY_H
#define ORTHANC_PROXY_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "access_rules.h"
#include "directive_args.h"
#include "path_canon.h"
#include "route_table.h"

extern module AP_MODULE_DECLARE_DATA orthanc_proxy_module;

/* The handler that answers locally: the "/prefix" -> "/prefix/" redirect. */
#define OP_LOCAL_HANDLER "orthanc-proxy"

/* One OrthancProxy directive. */
typedef struct {
    op_prefix   prefix;
    op_backend  backend;
    const char *defined_at;   /* "file:line", for configuration messages */
} op_mapping;

/* Per server and virtual host. */
typedef struct {
    /* op_mapping *, own ones first, then those inherited from the main server */
    apr_array_header_t *mappings;
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
} op_request;

/* mod_orthanc_proxy.c */
op_request *op_request_get(const request_rec *r);
const op_dir_conf *op_dir_conf_get(const request_rec *r);
const op_mapping *op_find_mapping_for_uri(const request_rec *r,
                                          const char *uri);
int op_refuse(request_rec *r, op_request *req, int status,
              const char *reason, const char *rule);

/* credentials.c: OrthancProxyCredentials and OrthancProxyUserHeader */
const char *op_cmd_credentials(cmd_parms *cmd, void *dconf, const char *user,
                               const char *secret);
const char *op_cmd_user_header(cmd_parms *cmd, void *dconf, const char *name);

/* cors.c: OrthancProxyCORS */
const char *op_cmd_cors(cmd_parms *cmd, void *dconf, const char *args);
int op_is_preflight(const request_rec *r);
int op_cors_allows_preflight(const request_rec *r);
void op_cors_add_response_headers(request_rec *r);
int op_cors_answer_preflight(request_rec *r, op_request *req);

/* request_checks.c: what is refused after authentication */
int op_check_request(request_rec *r, op_request *req);

/* proxy_bridge.c: everything that touches mod_proxy's own structures */
const char *op_define_backend(cmd_parms *cmd, const op_mapping *mapping,
                              const char *params);
int op_check_backends(apr_pool_t *ptemp, server_rec *s);
void op_keep_expect_from_backend(request_rec *r);

/* backend_request.c: the request Orthanc receives */
void op_register_backend_request_hooks(void);

/* error_response.c: the JSON body of the errors the proxy produces */
void op_register_error_response(void);

/* response_headers.c: Orthanc's answer on its way back */
void op_register_response_headers(void);
void op_add_response_headers_filter(request_rec *r);

/* body_limit.c: LimitRequestBody, which Apache skips on proxied requests */
void op_register_body_limit(void);
int op_enforce_body_limit(request_rec *r, op_request *req);

#endif
