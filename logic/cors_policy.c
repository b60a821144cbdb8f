/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cors_policy.c - which other origins may call Orthanc through the proxy.
 */
#include "cors_policy.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "header_names.h"

const char *op_cors_origin_check(apr_pool_t *p, const char *origin)
{
    const char *authority, *c;

    if (strcmp(origin, "*") == 0) {
        return NULL;
    }
    if (strncasecmp(origin, "https://", 8) == 0) {
        authority = origin + 8;
    }
    else if (strncasecmp(origin, "http://", 7) == 0) {
        authority = origin + 7;
    }
    else {
        return apr_psprintf(p, "'%s' is not an origin; write "
                            "https://host[:port] or *", origin);
    }
    if (*authority == '\0') {
        return apr_psprintf(p, "the origin '%s' has no host", origin);
    }
    for (c = authority; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("-.:[]", *c)) {
            return apr_psprintf(p, "the origin '%s' must be scheme://host[:port] "
                                "with nothing after it", origin);
        }
    }
    return NULL;
}

int op_cors_is_wildcard(const apr_array_header_t *allowed)
{
    return allowed && allowed->nelts == 1
           && strcmp(APR_ARRAY_IDX(allowed, 0, const char *), "*") == 0;
}

int op_cors_origin_allowed(const apr_array_header_t *allowed,
                           const char *origin)
{
    int i;

    if (allowed == NULL || origin == NULL || *origin == '\0'
        || strcmp(origin, "null") == 0) {
        return 0;
    }
    for (i = 0; i < allowed->nelts; i++) {
        const char *entry = APR_ARRAY_IDX(allowed, i, const char *);
        if (strcmp(entry, "*") == 0 || strcasecmp(entry, origin) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_token(const char *name)
{
    const char *c;

    if (*name == '\0') {
        return 0;
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("!#$%&'*+-.^_`|~", *c)) {
            return 0;
        }
    }
    return 1;
}

const char *op_cors_refused_header(apr_pool_t *p, const char *requested,
                                   const char *user_header)
{
    char *list = apr_pstrdup(p, requested ? requested : "");
    char *state, *name;

    for (name = apr_strtok(list, ",", &state); name;
         name = apr_strtok(NULL, ",", &state)) {
        char *end;
        while (*name == ' ' || *name == '\t') {
            name++;
        }
        end = name + strlen(name);
        while (end > name && (end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }
        if (*name == '\0') {
            continue;
        }
        if (!is_token(name) || op_is_proxy_owned_header(name, user_header)) {
            return name;
        }
    }
    return NULL;
}
