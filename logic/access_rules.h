/* SPDX-License-Identifier: Apache-2.0 */
/*
 * access_rules.h - the decision: may this method reach this Orthanc path?
 *
 * The decision is taken on Orthanc's reading of the request (the canonical
 * path and the effective method).  OrthancProxyDeny rules win; then
 * OrthancProxyAllow rules reach beyond the level; then the route table
 * decides against OrthancProxyAccess.  Unknown routes need admin.
 */
#ifndef ORTHANC_PROXY_ACCESS_RULES_H
#define ORTHANC_PROXY_ACCESS_RULES_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "path_canon.h"
#include "route_table.h"

typedef struct {
    int allow;              /* OrthancProxyAllow, else OrthancProxyDeny */
    const char *methods;    /* pattern.h method list */
    const char *pattern;    /* pattern.h path pattern */
    const char *written;    /* the directive as written, to name it */
} op_rule;

typedef struct {
    int allowed;
    const char *rule;       /* what decided: a rule, or the access level */
    const char *reason;     /* for a refusal: a sentence for people */
} op_decision;

/* The level in force when none is configured. */
#define OP_DEFAULT_LEVEL OP_LEVEL_MODIFY

/* Checks and builds a rule from its directive's arguments; returns NULL or
 * what is wrong. */
const char *op_rule_make(apr_pool_t *p, int allow, const char *methods,
                         const char *pattern, op_rule *out);

/* Decides on METHOD (HEAD counts as GET) for the segments of PATH from
 * FROM on, under LEVEL (OP_LEVEL_UNSET means the default) and RULES
 * (op_rule elements). */
op_decision op_decide(apr_pool_t *p, op_level level,
                      const apr_array_header_t *rules, const char *method,
                      const op_path *path, int from);

/* The same decision for `Require orthanc-access LEVEL`, the authorization
 * provider (apache/authz_provider.c): the same rules and route table, so
 * that the line admits exactly what OrthancProxyAccess LEVEL would; the
 * rule and the reason name the Require line instead. */
op_decision op_decide_require(apr_pool_t *p, op_level level,
                              const apr_array_header_t *rules,
                              const char *method, const op_path *path,
                              int from);

#endif
