/* SPDX-License-Identifier: Apache-2.0 */
/*
 * directive_args.c - checks on what an administrator writes after OrthancProxy.
 */
#include "directive_args.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

/* Characters a prefix may use: those that never need escaping in a path. */
static int is_plain_path_char(unsigned char c)
{
    return c != '\0' && (apr_isalnum(c) || strchr("/-._~!$&'()*+,=:@", c));
}

const char *op_parse_prefix(apr_pool_t *p, const char *prefix, op_prefix *out)
{
    const char *c;
    char *canonical;

    if (prefix == NULL || prefix[0] != '/') {
        return apr_psprintf(p, "the prefix '%s' must start with '/' "
                            "(for example /orthanc/)", prefix ? prefix : "");
    }
    for (c = prefix; *c; c++) {
        if (!is_plain_path_char((unsigned char)*c)) {
            return apr_psprintf(p, "the prefix '%s' contains '%c'; use letters, "
                                "digits and -._~ only", prefix, *c);
        }
    }
    if (op_path_parse(p, prefix, strlen(prefix), &out->path) != OP_PATH_OK) {
        return apr_psprintf(p, "the prefix '%s' cannot be read", prefix);
    }
    out->path.trailing_slash = out->path.segments->nelts > 0;
    canonical = op_path_join(p, &out->path, 0, OP_PATH_DECODED);
    if (strcmp(canonical, prefix) != 0
        && strcmp(apr_pstrcat(p, prefix, "/", NULL), canonical) != 0) {
        return apr_psprintf(p, "the prefix '%s' is not in canonical form; "
                            "write '%s'", prefix, canonical);
    }
    out->prefix = canonical;
    out->prefix_bare = apr_pstrndup(p, canonical, strlen(canonical) - 1);
    return NULL;
}

static const char *backend_scheme(const char *scheme, op_backend_kind *kind)
{
    if (scheme == NULL) {
        return NULL;
    }
    if (strcasecmp(scheme, "http") == 0) {
        *kind = OP_BACKEND_HTTP;
        return "http";
    }
    if (strcasecmp(scheme, "https") == 0) {
        *kind = OP_BACKEND_HTTPS;
        return "https";
    }
    if (strcasecmp(scheme, "balancer") == 0) {
        *kind = OP_BACKEND_BALANCER;
        return "balancer";
    }
    return NULL;
}

static char *lowercase(char *s)
{
    char *c;
    for (c = s; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return s;
}

static int is_host_char(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_';
}

static const char *check_host(apr_pool_t *p, const char *url, const char *host,
                              int is_ipv6_literal)
{
    const char *c;

    if (host == NULL || *host == '\0') {
        return apr_psprintf(p, "the URL '%s' has no host", url);
    }
    for (c = host; *c; c++) {
        if (is_ipv6_literal ? !(apr_isxdigit(*c) || *c == ':' || *c == '.')
                            : !is_host_char((unsigned char)*c)) {
            return apr_psprintf(p, "the URL '%s' has an invalid host '%s'",
                                url, host);
        }
    }
    return NULL;
}

const char *op_parse_backend(apr_pool_t *p, const char *url, op_backend *out)
{
    apr_uri_t uri;
    const char *separator, *scheme, *err, *host, *port = "", *path;
    int is_ipv6_literal;

    if (strncasecmp(url, "unix:", 5) == 0) {
        return apr_psprintf(p, "the URL '%s' names a Unix socket; give "
                            "Orthanc's http:// or https:// address", url);
    }
    separator = strstr(url, "://");
    scheme = separator ? backend_scheme(apr_pstrmemdup(p, url, separator - url),
                                        &out->kind)
                       : NULL;
    if (scheme == NULL) {
        return apr_psprintf(p, "the URL '%s' must start with http://, https:// "
                            "or balancer://", url);
    }
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS) {
        return apr_psprintf(p, "the URL '%s' cannot be parsed; check its host "
                            "and port", url);
    }
    if (uri.user || uri.password) {
        return apr_psprintf(p, "the URL '%s' carries credentials; use "
                            "OrthancProxyCredentials instead", url);
    }
    if (uri.query || uri.fragment || strchr(url, '?') || strchr(url, '#')) {
        return apr_psprintf(p, "the URL '%s' must not have a query or a "
                            "fragment", url);
    }
    is_ipv6_literal = uri.hostinfo && strchr(uri.hostinfo, '[') != NULL;
    err = check_host(p, url, uri.hostname, is_ipv6_literal);
    if (err) {
        return err;
    }
    if (out->kind != OP_BACKEND_BALANCER && uri.port_str && *uri.port_str) {
        apr_port_t standard = out->kind == OP_BACKEND_HTTPS ? 443 : 80;
        if (uri.port == 0 || strspn(uri.port_str, "0123456789")
                             != strlen(uri.port_str)) {
            return apr_psprintf(p, "the URL '%s' has an invalid port", url);
        }
        if (uri.port != standard) {
            port = apr_psprintf(p, ":%u", (unsigned)uri.port);
        }
    }
    else if (out->kind == OP_BACKEND_BALANCER && uri.port_str) {
        return apr_psprintf(p, "the balancer URL '%s' must not have a port", url);
    }

    path = uri.path && *uri.path ? uri.path : "/";
    if (path[strlen(path) - 1] != '/') {
        path = apr_pstrcat(p, path, "/", NULL);
    }
    host = lowercase(apr_pstrdup(p, uri.hostname));
    if (is_ipv6_literal) {
        host = apr_pstrcat(p, "[", host, "]", NULL);
    }
    out->url = apr_pstrcat(p, scheme, "://", host, port, path, NULL);
    return NULL;
}

const char *op_check_worker_param(apr_pool_t *p, const char *word)
{
    const char *equals = strchr(word, '=');
    const char *c;

    if (equals == NULL || equals == word) {
        return apr_psprintf(p, "'%s' is not a worker parameter; write "
                            "key=value (for example timeout=60)", word);
    }
    for (c = word; c < equals; c++) {
        if (!apr_isalnum(*c) && *c != '_') {
            return apr_psprintf(p, "'%s' is not a worker parameter; write "
                                "key=value (for example timeout=60)", word);
        }
    }
    return NULL;
}
