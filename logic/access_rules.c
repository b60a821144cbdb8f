/* SPDX-License-Identifier: Apache-2.0 */
/*
 * access_rules.c - the decision: may this method reach this Orthanc path?
 */
#include "access_rules.h"

#include <string.h>
#include <apr_strings.h>

#include "pattern.h"

const char *op_rule_make(apr_pool_t *p, int allow, const char *methods,
                         const char *pattern, op_rule *out)
{
    const char *err = op_methods_check(p, methods);

    if (err == NULL) {
        err = op_pattern_check(p, pattern);
    }
    if (err) {
        return err;
    }
    out->allow = allow;
    out->methods = apr_pstrdup(p, methods);
    out->pattern = apr_pstrdup(p, pattern);
    out->written = apr_pstrcat(p, allow ? "OrthancProxyAllow " : "OrthancProxyDeny ",
                               methods, " ", pattern, NULL);
    return NULL;
}

/* How a refusal by level names the directive: OrthancProxyAccess for the
 * location's ceiling, the Require line for the authorization provider
 * ("... needs NEEDS modify; GRANTED read"). */
typedef struct {
    const char *const *level_rules;  /* by level: the rule a decision names */
    const char *needs;
    const char *granted;
} wording;

/* Every request gets a decision: the level rules are not built each time. */
static const char *const ACCESS_RULES[] = {
    NULL, "OrthancProxyAccess read", "OrthancProxyAccess upload",
    "OrthancProxyAccess modify", "OrthancProxyAccess admin"
};
static const char *const REQUIRE_RULES[] = {
    NULL, "Require orthanc-access read", "Require orthanc-access upload",
    "Require orthanc-access modify", "Require orthanc-access admin"
};
static const wording ACCESS_WORDING = {
    ACCESS_RULES, "OrthancProxyAccess", "this location allows"
};
static const wording REQUIRE_WORDING = {
    REQUIRE_RULES, "Require orthanc-access", "the requirements that applied grant"
};

/* The first rule of kind ALLOW that matches, or NULL. */
static const op_rule *matching_rule(const apr_array_header_t *rules, int allow,
                                    const char *method, const op_path *path,
                                    int from)
{
    int i;

    for (i = 0; rules && i < rules->nelts; i++) {
        const op_rule *rule = &APR_ARRAY_IDX(rules, i, op_rule);
        if (rule->allow == allow && op_methods_include(rule->methods, method)
            && op_pattern_match(rule->pattern, path, from)) {
            return rule;
        }
    }
    return NULL;
}

static op_decision decide(apr_pool_t *p, op_level level,
                          const apr_array_header_t *rules, const char *method,
                          const op_path *path, int from, const wording *words)
{
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    const op_rule *rule;
    const op_route *route;
    op_level needed;
    op_decision decision;

    if (level == OP_LEVEL_UNSET) {
        level = OP_DEFAULT_LEVEL;
    }
    if ((rule = matching_rule(rules, 0, as, path, from)) != NULL) {
        decision.allowed = 0;
        decision.rule = rule->written;
        decision.reason = apr_psprintf(p, "%s %s is denied by %s", method,
                                       op_path_join(p, path, from,
                                                    OP_PATH_DECODED),
                                       rule->written);
        return decision;
    }
    if ((rule = matching_rule(rules, 1, as, path, from)) != NULL) {
        decision.allowed = 1;
        decision.rule = rule->written;
        decision.reason = NULL;
        return decision;
    }

    route = op_route_find(as, path, from);
    needed = route ? route->level : OP_LEVEL_ADMIN;
    decision.allowed = level >= needed;
    decision.rule = words->level_rules[level];
    decision.reason = decision.allowed ? NULL : apr_psprintf(
        p, "%s %s (%s) needs %s %s; %s %s",
        method, op_path_join(p, path, from, OP_PATH_DECODED),
        route ? route->family : "a route this proxy does not know",
        words->needs, op_level_name(needed), words->granted,
        op_level_name(level));
    return decision;
}

op_decision op_decide(apr_pool_t *p, op_level level,
                      const apr_array_header_t *rules, const char *method,
                      const op_path *path, int from)
{
    return decide(p, level, rules, method, path, from, &ACCESS_WORDING);
}

op_decision op_decide_require(apr_pool_t *p, op_level level,
                              const apr_array_header_t *rules,
                              const char *method, const op_path *path,
                              int from)
{
    return decide(p, level, rules, method, path, from, &REQUIRE_WORDING);
}
