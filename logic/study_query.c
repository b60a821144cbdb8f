/* SPDX-License-Identifier: Apache-2.0 */
/*
 * study_query.c - searches and lists under a study scope (see
 * study_query.h).
 */
#include "study_query.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

#include "hex.h"
#include "json_write.h"
#include "query_reading.h"

/* ------------------------------------------------------- tag names */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}

/* What sscanf's %x reads at *S (END excluded), modulo 65536; 0 when it
 * reads nothing. */
static int scan_hex(const char **s, const char *end, unsigned *out)
{
    const char *c = *s;
    unsigned long value = 0;
    int negative = 0, digits = 0;

    while (c < end && is_space(*c)) {
        c++;
    }
    if (c < end && (*c == '+' || *c == '-')) {
        negative = *c == '-';
        c++;
    }
    if (c + 1 < end && c[0] == '0' && (c[1] == 'x' || c[1] == 'X')) {
        c += 2;
        digits = 1;                 /* "0x" alone reads as 0 */
    }
    while (c < end && op_hex_value((unsigned char)*c) >= 0) {
        value = (value * 16 + (unsigned long)op_hex_value((unsigned char)*c)) & 0xffffUL;
        c++;
        digits++;
    }
    if (!digits) {
        return 0;
    }
    *out = (unsigned)((negative ? (0x10000UL - value) : value) & 0xffffUL);
    *s = c;
    return 1;
}

int op_dicom_name_may_be(const char *name, apr_size_t len,
                         const op_study_attribute *attribute)
{
    const char *end = name + len, *s = name;
    unsigned group, element;

    if (len == strlen(attribute->keyword)
        && strncasecmp(name, attribute->keyword, len) == 0) {
        return 1;
    }
    if (len == 8) {
        unsigned long v = 0;
        apr_size_t i;
        for (i = 0; i < 8 && op_hex_value((unsigned char)name[i]) >= 0; i++) {
            v = v * 16 + (unsigned long)op_hex_value((unsigned char)name[i]);
        }
        if (i == 8 && v == ((unsigned long)attribute->group << 16
                            | attribute->element)) {
            return 1;
        }
    }
    if (scan_hex(&s, end, &group) && s < end && *s == ',') {
        s++;
        if (scan_hex(&s, end, &element)
            && group == attribute->group && element == attribute->element) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ QIDO */

/* Values the DICOMweb plugin reads alike whether the query string is
 * decoded (Orthanc >= 1.12.10) or not (before): no escape, no '+', no
 * separator. */
static int raw_safe(const char *value)
{
    for (; *value; value++) {
        char c = *value;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || strchr("._~*?^-", c))) {
            return 0;
        }
    }
    return 1;
}

static int single_clause(const op_study_scope *scope)
{
    return !scope->all && scope->clauses && scope->clauses->nelts == 1;
}

static const apr_array_header_t *first_clause(const op_study_scope *scope)
{
    return APR_ARRAY_IDX(scope->clauses, 0, const apr_array_header_t *);
}

/* Whether an argument of QUERY, under any reading, may name the tag of a
 * term of TERMS, or (FUZZY) asks for fuzzy matching. */
static int query_names(apr_pool_t *p, const char *query,
                       const apr_array_header_t *terms, int fuzzy)
{
    int reading, i, j;

    for (reading = 0; query && reading < OP_QUERY_READINGS; reading++) {
        apr_array_header_t *args = op_query_arguments(p, query, reading);
        for (i = 0; i < args->nelts; i++) {
            const op_query_argument *a = &APR_ARRAY_IDX(args, i,
                                                        op_query_argument);
            if (fuzzy && a->name_length == 13
                && memcmp(a->name, "fuzzymatching", 13) == 0) {
                return 1;
            }
            for (j = 0; j < terms->nelts; j++) {
                const op_study_term *t = &APR_ARRAY_IDX(terms, j,
                                                        op_study_term);
                if (t->kind == OP_FILTER_ATTRIBUTE
                    && op_dicom_name_may_be(a->name, a->name_length,
                                            t->attribute)) {
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* QUERY with "&KEYWORD=VALUE" appended for each attribute term of TERMS
 * whose value every release reads alike; *ALL set when every term was. */
static const char *append_terms(apr_pool_t *p, const char *query,
                                const apr_array_header_t *terms, int *all)
{
    const char *q = query ? query : "";
    int i;

    *all = 1;
    for (i = 0; i < terms->nelts; i++) {
        const op_study_term *t = &APR_ARRAY_IDX(terms, i, op_study_term);
        if (t->kind != OP_FILTER_ATTRIBUTE || !raw_safe(t->value)) {
            *all = 0;
            continue;
        }
        q = apr_pstrcat(p, q, *q && q[strlen(q) - 1] != '&' ? "&" : "",
                        t->attribute->keyword, "=", t->value, NULL);
    }
    return q;
}

/* Whether every reading of QUERY ends with the arguments of TERMS, as
 * append_terms wrote them. */
static int ends_with_terms(apr_pool_t *p, const char *query,
                           const apr_array_header_t *terms)
{
    int reading, i;

    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        apr_array_header_t *args = op_query_arguments(p, query, reading);
        int base = args->nelts - terms->nelts;
        if (base < 0) {
            return 0;
        }
        for (i = 0; i < terms->nelts; i++) {
            const op_study_term *t = &APR_ARRAY_IDX(terms, i, op_study_term);
            const op_query_argument *a =
                &APR_ARRAY_IDX(args, base + i, op_query_argument);
            if (a->name_length != strlen(t->attribute->keyword)
                || memcmp(a->name, t->attribute->keyword, a->name_length) != 0
                || strcmp(a->value, t->value) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

static int parse_count(const char *text, apr_int64_t *out)
{
    apr_int64_t n = 0;
    if (*text == '\0') {
        return 0;
    }
    for (; *text; text++) {
        if (*text < '0' || *text > '9' || n > APR_INT64_C(1000000000000)) {
            return 0;
        }
        n = n * 10 + (*text - '0');
    }
    *out = n;
    return 1;
}

/* Which of the two NAMES the argument name NAME (LEN bytes) is: 0, 1, or -1
 * for neither. */
static int paging_name(const char *const names[2], const char *name,
                       apr_size_t len)
{
    int k;
    for (k = 0; k < 2; k++) {
        if (len == strlen(names[k]) && memcmp(name, names[k], len) == 0) {
            return k;
        }
    }
    return -1;
}

/* QUERY without its arguments named FIRST and SECOND (the paging), whose
 * values go to *A and *B (-1 when absent); NULL and *ERROR set when a
 * release would read them otherwise. */
static const char *without_paging(apr_pool_t *p, const char *query,
                                  const char *first, const char *second,
                                  apr_int64_t *a, apr_int64_t *b,
                                  const char **error)
{
    const char *names[2];
    const char *seen[OP_QUERY_READINGS][2];
    char *kept = "";
    const char *s;
    int reading, i, k;

    names[0] = first;
    names[1] = second;
    *a = *b = -1;
    if (query == NULL) {
        return NULL;
    }
    /* What each release reads: the last value counts (the plugins and
     * Orthanc assign as they go). */
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        apr_array_header_t *args = op_query_arguments(p, query, reading);
        seen[reading][0] = seen[reading][1] = NULL;
        for (i = 0; i < args->nelts; i++) {
            const op_query_argument *arg = &APR_ARRAY_IDX(args, i,
                                                          op_query_argument);
            k = paging_name(names, arg->name, arg->name_length);
            if (k >= 0) {
                seen[reading][k] = arg->value;
            }
        }
        for (k = 0; k < 2; k++) {
            const char *v0 = seen[0][k], *v = seen[reading][k];
            if ((v0 == NULL) != (v == NULL) || (v0 && strcmp(v0, v) != 0)) {
                *error = apr_psprintf(p, "the query's '%s' is read "
                                      "differently by %s", names[k],
                                      op_query_reading_releases(reading));
                return NULL;
            }
        }
    }
    for (k = 0; k < 2; k++) {
        if (seen[0][k] && !parse_count(seen[0][k], k == 0 ? a : b)) {
            *error = apr_psprintf(p, "'%s' is not a number", names[k]);
            return NULL;
        }
    }
    /* The raw arguments, but those two. */
    s = query;
    while (*s) {
        apr_size_t len = strcspn(s, "&"), n = strcspn(s, "=&");
        if (paging_name(names, s, n) < 0 && len > 0) {
            kept = apr_pstrcat(p, kept, *kept ? "&" : "",
                               apr_pstrmemdup(p, s, len), NULL);
        }
        s += len + (s[len] == '&');
    }
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        apr_array_header_t *args = op_query_arguments(p, kept, reading);
        for (i = 0; i < args->nelts; i++) {
            const op_query_argument *arg = &APR_ARRAY_IDX(args, i,
                                                          op_query_argument);
            k = paging_name(names, arg->name, arg->name_length);
            if (k >= 0) {
                *error = apr_psprintf(p, "the query hides '%s' from some "
                                      "releases (%s)", names[k],
                                      op_query_reading_releases(reading));
                return NULL;
            }
        }
    }
    return kept;
}

op_list_plan op_qido_plan(apr_pool_t *p, const char *query,
                          const op_study_scope *scope)
{
    op_list_plan plan;
    int all = 0;

    memset(&plan, 0, sizeof(plan));
    if (single_clause(scope)
        && !query_names(p, query, first_clause(scope), 1)) {
        const char *q = append_terms(p, query, first_clause(scope), &all);
        if (all && ends_with_terms(p, q, first_clause(scope))) {
            plan.exact = 1;
            plan.query = q;
            return plan;
        }
    }
    plan.query = without_paging(p, query, "offset", "limit", &plan.offset,
                                &plan.limit, &plan.error);
    if (plan.error) {
        return plan;
    }
    if (plan.offset < 0) {
        plan.offset = 0;
    }
    if (plan.limit < 0) {
        plan.limit = 0;
    }
    /* One clause: what every release reads alike still narrows. */
    if (single_clause(scope)) {
        apr_array_header_t *terms = apr_array_make(p, 2,
                                                   sizeof(op_study_term));
        const apr_array_header_t *clause = first_clause(scope);
        int i;
        for (i = 0; i < clause->nelts; i++) {
            const op_study_term *t = &APR_ARRAY_IDX(clause, i, op_study_term);
            if (t->kind == OP_FILTER_ATTRIBUTE && raw_safe(t->value)) {
                APR_ARRAY_PUSH(terms, op_study_term) = *t;
            }
        }
        if (terms->nelts > 0 && !query_names(p, plan.query, terms, 0)) {
            const char *q = append_terms(p, plan.query, terms, &all);
            if (ends_with_terms(p, q, terms)) {
                plan.query = q;
            }
        }
    }
    if (plan.query && *plan.query == '\0') {
        plan.query = NULL;
    }
    return plan;
}

op_list_plan op_rest_list_plan(apr_pool_t *p, const char *query)
{
    op_list_plan plan;

    memset(&plan, 0, sizeof(plan));
    plan.query = without_paging(p, query, "since", "limit", &plan.offset,
                                &plan.limit, &plan.error);
    if (plan.offset < 0) {
        plan.offset = 0;
    }
    if (plan.limit < 0) {
        plan.limit = 0;
    }
    if (plan.query && *plan.query == '\0') {
        plan.query = NULL;
    }
    return plan;
}

/* ------------------------------------------------------- /tools/find */

static op_resource_level level_named(const char *name)
{
    static const char *const NAMES[] = { "", "patient", "study", "series",
                                         "instance" };
    int i;
    for (i = 1; i <= 4; i++) {
        if (strcasecmp(name, NAMES[i]) == 0) {
            return (op_resource_level)i;
        }
    }
    return OP_RESOURCE_UNKNOWN;
}

static int query_object_names(const op_json *query,
                              const op_study_attribute *attribute)
{
    int i;
    for (i = 0; i < query->names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(query->names, i, const char *);
        if (op_dicom_name_may_be(name, strlen(name), attribute)) {
            return 1;
        }
    }
    return 0;
}

/* Adds the scope's single clause to REQUEST where Orthanc can apply it;
 * 1 when all of it was. */
static int add_clause(apr_pool_t *p, op_json *request, op_json *query,
                      const apr_array_header_t *terms,
                      op_resource_level level, int has_labels)
{
    const op_json *labels = op_json_member(request, "Labels");
    const char *constraint = op_json_string_member(request,
                                                   "LabelsConstraint");
    op_json *merged = NULL;
    /* Any key of the client's may be a person name (the table knows a
     * few tags only). */
    int client_keys = query->names->nelts > 0;
    int i, all = 1, person = 0;

    for (i = 0; i < terms->nelts; i++) {
        const op_study_term *t = &APR_ARRAY_IDX(terms, i, op_study_term);
        if (t->kind == OP_FILTER_ATTRIBUTE) {
            if (query_object_names(query, t->attribute)) {
                all = 0;
                continue;
            }
            person |= strcmp(t->attribute->vr, "PN") == 0;
            op_json_set(p, query, t->attribute->keyword,
                        op_json_new_string(p, t->value));
            continue;
        }
        /* A label: Orthanc's labels belong to each level, and a study's
         * are only searched at the study level. */
        if (level != OP_RESOURCE_STUDY || !has_labels
            || (labels && labels->type != OP_JSON_ARRAY)
            || (constraint && strcmp(constraint, "All") != 0)) {
            all = 0;
            continue;
        }
        if (merged == NULL) {
            int j;
            merged = op_json_new(p, OP_JSON_ARRAY);
            for (j = 0; labels && j < labels->items->nelts; j++) {
                APR_ARRAY_PUSH(merged->items, op_json *) =
                    APR_ARRAY_IDX(labels->items, j, op_json *);
            }
        }
        APR_ARRAY_PUSH(merged->items, op_json *) =
            op_json_new_string(p, t->value);
    }
    if (merged) {
        op_json_set(p, request, "Labels", merged);
        op_json_set(p, request, "LabelsConstraint",
                    op_json_new_string(p, "All"));
    }
    /* Orthanc matches person names without case by default, the rule
     * with: asked with case when the client's search has no name of its
     * own that it would change. */
    if (person && op_json_member(request, "CaseSensitive") == NULL) {
        if (!client_keys) {
            op_json_set(p, request, "CaseSensitive",
                        op_json_new(p, OP_JSON_TRUE));
        }
        else {
            all = 0;
        }
    }
    else if (person
             && op_json_member(request, "CaseSensitive")->type
                != OP_JSON_TRUE) {
        all = 0;
    }
    return all;
}

static const char *take_count(apr_pool_t *p, op_json *request,
                              const char *name, apr_int64_t *out, int take)
{
    const op_json *v = op_json_member(request, name);
    *out = 0;
    if (v == NULL) {
        return NULL;
    }
    if (!op_json_integer_member(request, name, out) || v->type != OP_JSON_NUMBER
        || *out < 0) {
        return apr_psprintf(p, "\"%s\" is not a whole number", name);
    }
    if (take) {
        op_json_remove(request, name);
    }
    return NULL;
}

op_list_plan op_find_plan(apr_pool_t *p, const char *body, apr_size_t len,
                          const op_study_scope *scope, int has_labels)
{
    op_list_plan plan;
    op_json *request;
    op_json *query;
    const char *err, *level;
    const op_json *expand;

    memset(&plan, 0, sizeof(plan));
    if ((err = op_json_parse(p, body, len, &request)) != NULL) {
        plan.error = apr_pstrcat(p, "the body is not JSON: ", err, NULL);
        return plan;
    }
    if (request->type != OP_JSON_OBJECT || op_json_has_repeated_names(request)) {
        plan.error = "the body must be a JSON object, each name once";
        return plan;
    }
    level = op_json_string_member(request, "Level");
    query = (op_json *)op_json_member(request, "Query");
    if (level == NULL
        || (plan.level = level_named(level)) == OP_RESOURCE_UNKNOWN
        || query == NULL || query->type != OP_JSON_OBJECT) {
        plan.error = "the body needs a \"Level\" and a \"Query\" object";
        return plan;
    }
    if (single_clause(scope) && plan.level != OP_RESOURCE_PATIENT) {
        plan.exact = add_clause(p, request, query, first_clause(scope),
                                plan.level, has_labels);
    }
    {
        /* Checked either way; taken out when the proxy pages. */
        apr_int64_t since, limit;
        if ((err = take_count(p, request, "Since", &since, !plan.exact))
            != NULL
            || (err = take_count(p, request, "Limit", &limit, !plan.exact))
               != NULL) {
            plan.error = err;
            return plan;
        }
        if (!plan.exact) {
            plan.offset = since;
            plan.limit = limit;
        }
    }
    /* The proxy checks each item: with the resources themselves, a study
     * needs no question to Orthanc.  "ResponseContent" (1.12.5) shapes
     * the items otherwise: they are checked by their IDs. */
    expand = op_json_member(request, "Expand");
    if (op_json_member(request, "ResponseContent") == NULL
        && (expand == NULL || expand->type != OP_JSON_TRUE)) {
        op_json_set(p, request, "Expand", op_json_new(p, OP_JSON_TRUE));
        plan.reduce_to_ids = 1;
    }
    plan.body = op_json_write(p, request, &plan.body_length);
    return plan;
}

/* ------------------------------------------------------------ answers */

static const char *dicom_json_first(const op_json *item, const char *tag)
{
    const op_json *element = op_json_member(item, tag);
    const op_json *values = op_json_member(element, "Value");
    const op_json *first;

    if (values == NULL || values->type != OP_JSON_ARRAY
        || values->items->nelts == 0) {
        return NULL;
    }
    first = APR_ARRAY_IDX(values->items, 0, const op_json *);
    return first->type == OP_JSON_STRING ? first->text : NULL;
}

int op_qido_item_study(const op_json *item, const char **study_uid,
                       const char **patient_id)
{
    *study_uid = dicom_json_first(item, "0020000D");
    *patient_id = dicom_json_first(item, "00100020");
    return *study_uid != NULL;
}

op_json *op_json_select(apr_pool_t *p, const op_json *array, const char *keep,
                        apr_int64_t offset, apr_int64_t limit, int ids)
{
    op_json *out = op_json_new(p, OP_JSON_ARRAY);
    apr_int64_t seen = 0;
    int i;

    for (i = 0; i < array->items->nelts; i++) {
        op_json *item = APR_ARRAY_IDX(array->items, i, op_json *);
        if (!keep[i]) {
            continue;
        }
        if (seen++ < offset) {
            continue;
        }
        if (limit > 0 && out->items->nelts >= limit) {
            break;
        }
        if (ids && item->type == OP_JSON_OBJECT) {
            const char *id = op_json_string_member(item, "ID");
            item = op_json_new_string(p, id ? id : "");
        }
        APR_ARRAY_PUSH(out->items, op_json *) = item;
    }
    return out;
}
