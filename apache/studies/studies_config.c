/* SPDX-License-Identifier: Apache-2.0 */
/*
 * studies_config.c - the OrthancProxyStudies directive (see
 * studies_config.h).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_expr.h>
#include <mod_auth.h>
#include <apr_strings.h>

#include "apache/request_context.h"
#include "studies_config.h"

APLOG_USE_MODULE(orthanc_proxy);

/* The expression of one %{...} reference: mod_authnz_ldap puts the
 * attributes of its AuthLDAPURL in the request's environment as
 * AUTHENTICATE_<NAME>, which ap_expr reads as %{reqenv:...}. */
static const char *reference(apr_pool_t *p, const char *text)
{
    if (strncmp(text, "AUTHENTICATE_", 13) == 0 && !strchr(text, ':')) {
        return apr_pstrcat(p, "%{reqenv:", text, "}", NULL);
    }
    return apr_pstrcat(p, "%{", text, "}", NULL);
}

static const char *compile_filter(cmd_parms *cmd, op_studies_line *line,
                                  const op_study_filter *filter)
{
    int i;

    for (i = 0; filter->parts && i < filter->parts->nelts; i++) {
        const op_value_part *part = &APR_ARRAY_IDX(filter->parts, i,
                                                   op_value_part);
        const char *err = NULL;
        ap_expr_info_t *expr;
        if (!part->variable) {
            continue;
        }
        expr = ap_expr_parse_cmd(cmd, reference(cmd->temp_pool, part->text),
                                 AP_EXPR_FLAG_STRING_RESULT
                                 | AP_EXPR_FLAG_DONT_VARY, &err, NULL);
        if (err) {
            return apr_psprintf(cmd->pool, "OrthancProxyStudies: %s: "
                                "%%{%s} is not an Apache expression: %s",
                                filter->written, part->text, err);
        }
        APR_ARRAY_PUSH(line->expressions, ap_expr_info_t *) = expr;
    }
    return NULL;
}

/* The condition: [not] PROVIDER ARGS, parsed by PROVIDER as
 * mod_authz_core parses a Require line. */
static const char *parse_condition(cmd_parms *cmd, op_studies_line *line,
                                   const char *condition)
{
    const char *args = condition, *name;

    name = ap_getword_white(cmd->temp_pool, &args);
    if (strcasecmp(name, "not") == 0) {
        line->negate = 1;
        name = ap_getword_white(cmd->temp_pool, &args);
    }
    if (*name == '\0') {
        return "OrthancProxyStudies: the condition is empty; write a "
               "Require line, such as \"ldap-group cn=...\", \"group NAME\" "
               "or \"all granted\"";
    }
    if (strcasecmp(name, "orthanc-access") == 0) {
        return "OrthancProxyStudies: the condition cannot be "
               "orthanc-access (it decides on routes, not on users)";
    }
    line->provider = ap_lookup_provider(AUTHZ_PROVIDER_GROUP, name,
                                        AUTHZ_PROVIDER_VERSION);
    if (line->provider == NULL) {
        return apr_psprintf(cmd->pool, "OrthancProxyStudies: no "
                            "authorization provider is called '%s' (the "
                            "condition is a Require line: load its module, "
                            "such as mod_authnz_ldap for ldap-group, before "
                            "this line)", name);
    }
    line->provider_name = apr_pstrdup(cmd->pool, name);
    line->require_args = apr_pstrdup(cmd->pool, args);
    if (line->provider->parse_require_line) {
        const char *err = line->provider->parse_require_line(cmd, line->require_args,
                                                 &line->parsed);
        if (err) {
            return apr_psprintf(cmd->pool, "OrthancProxyStudies \"%s\": %s",
                                condition, err);
        }
    }
    return NULL;
}

const char *op_cmd_studies(cmd_parms *cmd, void *dconf, int argc,
                           char *const argv[])
{
    op_dir_conf *conf = dconf;
    op_studies_line *line;
    const char *err;
    int i;

    if (argc < 2) {
        return "OrthancProxyStudies takes a condition (a Require line, "
               "quoted) and at least one filter: all, none, label=NAME or "
               "ATTRIBUTE=VALUE";
    }
    line = apr_pcalloc(cmd->pool, sizeof(*line));
    line->written = apr_pstrdup(cmd->pool, argv[0]);
    line->filters = apr_array_make(cmd->pool, argc - 1,
                                   sizeof(op_study_filter));
    line->expressions = apr_array_make(cmd->pool, 1,
                                       sizeof(ap_expr_info_t *));
    line->defined_at = apr_psprintf(cmd->pool, "%s:%d",
                                    cmd->directive->filename,
                                    cmd->directive->line_num);
    if ((err = parse_condition(cmd, line, argv[0])) != NULL) {
        return err;
    }
    for (i = 1; i < argc; i++) {
        op_study_filter *filter = apr_array_push(line->filters);
        if ((err = op_study_filter_parse(cmd->pool, argv[i], filter))
            != NULL) {
            return apr_pstrcat(cmd->pool, "OrthancProxyStudies: ", err, NULL);
        }
        line->all |= filter->kind == OP_FILTER_ALL;
        line->none |= filter->kind == OP_FILTER_NONE;
        if ((err = compile_filter(cmd, line, filter)) != NULL) {
            return err;
        }
    }
    if ((line->all || line->none) && argc > 2) {
        return "OrthancProxyStudies: all and none stand alone on their line";
    }
    if (conf->studies == NULL) {
        conf->studies = apr_array_make(cmd->pool, 2,
                                       sizeof(op_studies_line *));
    }
    APR_ARRAY_PUSH(conf->studies, op_studies_line *) = line;
    return NULL;
}

int op_studies_lines_name_attribute(const apr_array_header_t *lines,
                                    const op_study_attribute *attribute)
{
    int i, j;
    for (i = 0; lines && i < lines->nelts; i++) {
        const op_studies_line *line = APR_ARRAY_IDX(lines, i,
                                                    const op_studies_line *);
        for (j = 0; j < line->filters->nelts; j++) {
            const op_study_filter *f = &APR_ARRAY_IDX(line->filters, j,
                                                      op_study_filter);
            if (f->kind == OP_FILTER_ATTRIBUTE
                && (attribute == NULL || f->attribute == attribute)) {
                return 1;
            }
        }
    }
    return 0;
}

int op_studies_lines_name_label(const apr_array_header_t *lines,
                                const char *label)
{
    int i, j;
    for (i = 0; lines && i < lines->nelts; i++) {
        const op_studies_line *line = APR_ARRAY_IDX(lines, i,
                                                    const op_studies_line *);
        for (j = 0; j < line->filters->nelts; j++) {
            const op_study_filter *f = &APR_ARRAY_IDX(line->filters, j,
                                                      op_study_filter);
            if (f->kind != OP_FILTER_LABEL) {
                continue;
            }
            if (label == NULL || op_study_filter_has_variables(f)
                || strcmp(APR_ARRAY_IDX(f->parts, 0, op_value_part).text,
                          label) == 0) {
                return 1;
            }
        }
    }
    return 0;
}
