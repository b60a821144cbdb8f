/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_config.h - OrthancProxyStudies CONDITION FILTER [FILTER ...]
 *
 * CONDITION is a Require line of any authorization provider Apache has
 * (mod_authz_core's registered providers: "ldap-group cn=...",
 * "ldap-attribute ...", "group cardiology", "user alice",
 * "ssl-verify-client", "ip 10.1.0.0/16", "expr ...", "valid-user",
 * "all granted"), optionally preceded by "not".  It is parsed by its
 * provider when the configuration is read, and asked of each request
 * after Apache's own access control, with the user it authenticated.
 * The FILTERs (logic/study_rules.h) say which studies the users it
 * matches may see; their %{...} references are Apache expressions
 * (ap_expr, as in "Require expr"), compiled here.
 *
 * Lines add up from the outer sections to the inner ones, as the rules
 * of OrthancProxyAllow/Deny do.  A location with no line is not
 * restricted; in one with lines, a user no line matches sees no study.
 */
#ifndef ORTHANC_PROXY_STUDIES_CONFIG_H
#define ORTHANC_PROXY_STUDIES_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <ap_expr.h>
#include <mod_auth.h>

#include "logic/study_rules.h"

typedef struct op_studies_line {
    const char *written;            /* the condition as written */
    const authz_provider *provider;
    const char *provider_name;
    const char *require_args;       /* the Require line after the name */
    const void *parsed;             /* the provider's parse of it */
    int negate;                     /* "not PROVIDER ..." */
    /* op_study_filter, and for each of their variable parts in order the
     * compiled expression (ap_expr_info_t *) */
    apr_array_header_t *filters;
    apr_array_header_t *expressions;
    int all, none;                  /* the line says "all" or "none" */
    const char *defined_at;         /* "file:line" */
} op_studies_line;

const char *op_cmd_studies(cmd_parms *cmd, void *dconf, int argc,
                           char *const argv[]);

/* Whether the lines LINES (op_studies_line *) name ATTRIBUTE, or LABEL
 * (NULL: any label a line names, or may name through a variable). */
int op_studies_lines_name_attribute(const apr_array_header_t *lines,
                                    const op_study_attribute *attribute);
int op_studies_lines_name_label(const apr_array_header_t *lines,
                                const char *label);

#endif
