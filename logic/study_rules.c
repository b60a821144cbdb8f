/* SPDX-License-Identifier: Apache-2.0 */
/*
 * study_rules.c - OrthancProxyStudies' filters, scopes and decisions (see
 * study_rules.h).
 */
#include "study_rules.h"

#include <stdlib.h>
#include <string.h>
#include <apr_sha1.h>
#include <apr_strings.h>

/* Orthanc's main DICOM tags of studies (DicomMap's main study tags, the
 * same from 1.10 to 1.13) and of their patients that a rule may name. */
static const op_study_attribute ATTRIBUTES[OP_STUDY_ATTRIBUTES + 1] = {
    { "AccessionNumber", 0x0008, 0x0050, "SH", 0, 1 },
    { "InstitutionName", 0x0008, 0x0080, "LO", 0, 1 },
    { "ReferringPhysicianName", 0x0008, 0x0090, "PN", 0, 1 },
    { "StudyDescription", 0x0008, 0x1030, "LO", 0, 1 },
    { "StudyDate", 0x0008, 0x0020, "DA", 0, 0 },
    { "StudyID", 0x0020, 0x0010, "SH", 0, 1 },
    { "StudyInstanceUID", 0x0020, 0x000D, "UI", 0, 0 },
    { "RequestingPhysician", 0x0032, 0x1032, "PN", 0, 1 },
    { "RequestedProcedureDescription", 0x0032, 0x1060, "LO", 0, 1 },
    { "PatientID", 0x0010, 0x0020, "LO", 1, 1 },
    { "PatientName", 0x0010, 0x0010, "PN", 1, 1 },
    { NULL, 0, 0, NULL, 0, 0 }
};

const op_study_attribute *op_study_attributes(void)
{
    return ATTRIBUTES;
}

const op_study_attribute *op_study_attribute_find(const char *keyword)
{
    const op_study_attribute *a;
    for (a = ATTRIBUTES; a->keyword; a++) {
        if (strcmp(a->keyword, keyword) == 0) {
            return a;
        }
    }
    return NULL;
}

int op_study_attribute_index(const op_study_attribute *attribute)
{
    return (int)(attribute - ATTRIBUTES);
}

/* ---------------------------------------------------------- validity */

static int is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int op_study_label_is_valid(const char *name)
{
    apr_size_t n = strlen(name), i;
    if (n == 0 || n > 64) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!is_label_char(name[i])) {
            return 0;
        }
    }
    return 1;
}

int op_study_uid_is_valid(const char *text)
{
    apr_size_t n = strlen(text), i;
    if (n == 0 || n > 64 || text[0] == '.' || text[n - 1] == '.') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((text[i] >= '0' && text[i] <= '9')
              || (text[i] == '.' && text[i + 1] != '.'))) {
            return 0;
        }
    }
    return 1;
}

int op_orthanc_id_is_valid(const char *text)
{
    int i;
    if (strlen(text) != 44) {
        return 0;
    }
    for (i = 0; i < 44; i++) {
        char c = text[i];
        if (i % 9 == 8) {
            if (c != '-') {
                return 0;
            }
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* A date as YYYYMMDD. */
static int is_date(const char *text)
{
    int i;
    if (strlen(text) != 8) {
        return 0;
    }
    for (i = 0; i < 8; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Characters no value may hold: a control character, and what Orthanc's
 * search reads as a list ('\') or the DICOMweb plugin turns into one
 * (','). */
static const char *forbidden_char(const char *text)
{
    for (; *text; text++) {
        if ((unsigned char)*text < 0x20 || *text == 0x7f || *text == '\\'
            || *text == ',') {
            return text;
        }
    }
    return NULL;
}

/* ----------------------------------------------------------- filters */

/* Splits VALUE into literal and %{...} parts; a reference may hold
 * nested braces (%{toupper:%{REMOTE_USER}}). */
static const char *split_value(apr_pool_t *p, const char *value,
                               apr_array_header_t **out)
{
    apr_array_header_t *parts = apr_array_make(p, 2, sizeof(op_value_part));
    const char *s = value, *literal = value;

    while (*s) {
        if (s[0] == '%' && s[1] == '{') {
            const char *start = s + 2, *end = start;
            int depth = 1;
            op_value_part *part;
            for (; *end; end++) {
                if (*end == '{') {
                    depth++;
                }
                else if (*end == '}' && --depth == 0) {
                    break;
                }
            }
            if (*end != '}' || end == start) {
                return "a %{ without its closing } (or an empty %{})";
            }
            if (s > literal) {
                part = apr_array_push(parts);
                part->text = apr_pstrmemdup(p, literal, (apr_size_t)(s - literal));
                part->variable = 0;
            }
            part = apr_array_push(parts);
            part->text = apr_pstrmemdup(p, start, (apr_size_t)(end - start));
            part->variable = 1;
            s = literal = end + 1;
        }
        else {
            s++;
        }
    }
    if (s > literal) {
        op_value_part *part = apr_array_push(parts);
        part->text = apr_pstrmemdup(p, literal, (apr_size_t)(s - literal));
        part->variable = 0;
    }
    *out = parts;
    return NULL;
}

int op_study_filter_has_variables(const op_study_filter *filter)
{
    int i;
    for (i = 0; filter->parts && i < filter->parts->nelts; i++) {
        if (APR_ARRAY_IDX(filter->parts, i, op_value_part).variable) {
            return 1;
        }
    }
    return 0;
}

/* Checks the literal text of a value of ATTRIBUTE (NULL for a label). */
static const char *check_literal(apr_pool_t *p,
                                 const op_study_attribute *attribute,
                                 const char *text, int whole)
{
    const char *bad = forbidden_char(text);

    if (bad) {
        return apr_psprintf(p, "a value may not hold '%s' (a control "
                            "character, or a list separator of DICOM or "
                            "DICOMweb)", *bad == '\\' ? "\\\\"
                            : *bad == ',' ? "," : "\\x..");
    }
    if (attribute == NULL) {
        const char *s;
        for (s = text; *s; s++) {
            if (!is_label_char(*s)) {
                return "a label holds only letters, digits, '_' and '-'";
            }
        }
        return NULL;
    }
    if (!attribute->wildcards && strpbrk(text, "*?")) {
        return apr_psprintf(p, "%s (%s) takes an exact value: Orthanc has "
                            "no wildcards for it", attribute->keyword,
                            attribute->vr);
    }
    if (whole && strcmp(attribute->vr, "DA") == 0 && !is_date(text)) {
        return apr_psprintf(p, "%s takes a date as YYYYMMDD",
                            attribute->keyword);
    }
    if (whole && strcmp(attribute->vr, "UI") == 0
        && !op_study_uid_is_valid(text)) {
        return apr_psprintf(p, "%s takes a UID (digits and dots)",
                            attribute->keyword);
    }
    if (whole && (text[0] == ' ' || text[strlen(text) - 1] == ' ')) {
        return "a value may not start or end with a space (Orthanc stores "
               "values without them)";
    }
    return NULL;
}

const char *op_study_filter_parse(apr_pool_t *p, const char *word,
                                  op_study_filter *out)
{
    const char *eq = strchr(word, '='), *value, *err;
    const char *name;
    int i, whole;

    memset(out, 0, sizeof(*out));
    out->written = apr_pstrdup(p, word);
    if (strcmp(word, "all") == 0 || strcmp(word, "none") == 0) {
        out->kind = word[0] == 'a' ? OP_FILTER_ALL : OP_FILTER_NONE;
        return NULL;
    }
    if (eq == NULL || eq == word) {
        return apr_psprintf(p, "'%s' is not a filter: write all, none, "
                            "label=NAME or ATTRIBUTE=VALUE", word);
    }
    name = apr_pstrmemdup(p, word, (apr_size_t)(eq - word));
    value = eq + 1;
    if (*value == '\0') {
        return apr_psprintf(p, "'%s' has an empty value, which DICOM "
                            "matching reads as 'anything'", word);
    }
    if (strcmp(name, "label") == 0) {
        out->kind = OP_FILTER_LABEL;
    }
    else if ((out->attribute = op_study_attribute_find(name)) != NULL) {
        out->kind = OP_FILTER_ATTRIBUTE;
    }
    else {
        const op_study_attribute *a;
        const char *known = "";
        for (a = ATTRIBUTES; a->keyword; a++) {
            known = apr_pstrcat(p, known, *known ? ", " : "", a->keyword, NULL);
        }
        return apr_psprintf(p, "'%s' is not an attribute a rule can name "
                            "(Orthanc's main DICOM tags of studies: %s; or "
                            "label)", name, known);
    }
    if ((err = split_value(p, value, &out->parts)) != NULL) {
        return apr_psprintf(p, "%s: %s", word, err);
    }
    whole = out->parts->nelts == 1
            && !APR_ARRAY_IDX(out->parts, 0, op_value_part).variable;
    for (i = 0; i < out->parts->nelts; i++) {
        const op_value_part *part = &APR_ARRAY_IDX(out->parts, i,
                                                   op_value_part);
        if (!part->variable
            && (err = check_literal(p, out->attribute, part->text, whole))
               != NULL) {
            return apr_psprintf(p, "%s: %s", word, err);
        }
    }
    return NULL;
}

const char *op_study_filter_expand(apr_pool_t *p, const op_study_filter *filter,
                                   const char *const *expanded,
                                   op_study_term *out)
{
    const char *value = "";
    int i, v = 0;

    for (i = 0; i < filter->parts->nelts; i++) {
        const op_value_part *part = &APR_ARRAY_IDX(filter->parts, i,
                                                   op_value_part);
        const char *text = part->text;
        if (part->variable) {
            text = expanded[v++];
            if (text == NULL || *text == '\0') {
                return apr_psprintf(p, "%%{%s} is empty", part->text);
            }
            if (forbidden_char(text) || strpbrk(text, "*?")) {
                return apr_psprintf(p, "%%{%s} holds a wildcard, a list "
                                    "separator or a control character",
                                    part->text);
            }
        }
        value = apr_pstrcat(p, value, text, NULL);
    }
    if (filter->kind == OP_FILTER_LABEL ? !op_study_label_is_valid(value)
        : check_literal(p, filter->attribute, value, 1) != NULL) {
        return apr_psprintf(p, "'%s' is not a valid value for %s", value,
                            filter->kind == OP_FILTER_LABEL
                            ? "a label" : filter->attribute->keyword);
    }
    out->kind = filter->kind;
    out->attribute = filter->attribute;
    out->value = value;
    return NULL;
}

/* ------------------------------------------------------------- scopes */

void op_study_scope_init(apr_pool_t *p, op_study_scope *scope)
{
    memset(scope, 0, sizeof(*scope));
    scope->clauses = apr_array_make(p, 2, sizeof(apr_array_header_t *));
}

void op_study_scope_add(op_study_scope *scope, apr_array_header_t *terms)
{
    int i;
    if (scope->all || scope->clauses == NULL) {
        return;
    }
    if (terms->nelts == 0) {
        op_study_scope_everything(scope);
        return;
    }
    for (i = 0; i < terms->nelts; i++) {
        if (APR_ARRAY_IDX(terms, i, op_study_term).kind == OP_FILTER_LABEL) {
            scope->uses_labels = 1;
        }
    }
    APR_ARRAY_PUSH(scope->clauses, apr_array_header_t *) = terms;
}

void op_study_scope_none(op_study_scope *scope)
{
    scope->all = 0;
    scope->uses_labels = 0;
    /* NULL: nothing may be added any more (a veto). */
    scope->clauses = NULL;
}

void op_study_scope_everything(op_study_scope *scope)
{
    if (scope->clauses == NULL) {
        return;                     /* "none" wins */
    }
    scope->all = 1;
    scope->uses_labels = 0;
    scope->clauses->nelts = 0;
}

/* A term as text; '%' ';' '|' '=' are escaped so that terms cannot run
 * into each other. */
static const char *term_text(apr_pool_t *p, const op_study_term *term)
{
    const char *s;
    char *out, *o;

    out = o = apr_palloc(p, strlen(term->value) * 3 + 1);
    for (s = term->value; *s; s++) {
        if (strchr("%;|=", *s)) {
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[(unsigned char)*s >> 4];
            *o++ = "0123456789ABCDEF"[(unsigned char)*s & 15];
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return apr_pstrcat(p, term->kind == OP_FILTER_LABEL ? "label"
                       : term->attribute->keyword, "=", out, NULL);
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, without repeats, joined by SEPARATOR. */
static const char *canonical(apr_pool_t *p, apr_array_header_t *texts,
                             const char *separator)
{
    const char *joined = "", *last = NULL;
    int i;

    qsort(texts->elts, (size_t)texts->nelts, sizeof(const char *),
          compare_text);
    for (i = 0; i < texts->nelts; i++) {
        const char *t = APR_ARRAY_IDX(texts, i, const char *);
        if (last && strcmp(last, t) == 0) {
            continue;
        }
        joined = apr_pstrcat(p, joined, *joined ? separator : "", t, NULL);
        last = t;
    }
    return joined;
}

void op_study_scope_finish(apr_pool_t *p, op_study_scope *scope)
{
    apr_array_header_t *clauses;
    int i, j;

    if (scope->all) {
        scope->identity = "all";
        return;
    }
    if (scope->clauses == NULL || scope->clauses->nelts == 0) {
        scope->identity = "none";
        return;
    }
    clauses = apr_array_make(p, scope->clauses->nelts, sizeof(const char *));
    for (i = 0; i < scope->clauses->nelts; i++) {
        const apr_array_header_t *terms =
            APR_ARRAY_IDX(scope->clauses, i, const apr_array_header_t *);
        apr_array_header_t *texts = apr_array_make(p, terms->nelts,
                                                   sizeof(const char *));
        for (j = 0; j < terms->nelts; j++) {
            APR_ARRAY_PUSH(texts, const char *) =
                term_text(p, &APR_ARRAY_IDX(terms, j, op_study_term));
        }
        APR_ARRAY_PUSH(clauses, const char *) = canonical(p, texts, ";");
    }
    scope->identity = canonical(p, clauses, "|");
}

/* ------------------------------------------------------------ studies */

static void read_tags(const op_json *tags, int patient_level,
                      op_study_facts *out)
{
    const op_study_attribute *a;
    for (a = ATTRIBUTES; a->keyword; a++) {
        if (a->patient_level == patient_level) {
            const char *value = op_json_string_member(tags, a->keyword);
            if (value) {
                out->values[a - ATTRIBUTES] = value;
            }
        }
    }
}

const char *op_study_facts_read(apr_pool_t *p, const op_json *study,
                                op_study_facts *out)
{
    const op_json *main_tags = op_json_member(study, "MainDicomTags");
    const op_json *patient_tags = op_json_member(study,
                                                 "PatientMainDicomTags");
    const op_json *labels = op_json_member(study, "Labels");
    const char *type = op_json_string_member(study, "Type");

    memset(out, 0, sizeof(*out));
    if (type && strcmp(type, "Study") != 0) {
        return apr_psprintf(p, "a %s, not a study", type);
    }
    out->id = op_json_string_member(study, "ID");
    out->patient = op_json_string_member(study, "ParentPatient");
    if (out->id == NULL || !op_orthanc_id_is_valid(out->id)
        || main_tags == NULL || main_tags->type != OP_JSON_OBJECT) {
        return "no study ID or no MainDicomTags";
    }
    out->uid = op_json_string_member(main_tags, "StudyInstanceUID");
    read_tags(main_tags, 0, out);
    if (patient_tags && patient_tags->type == OP_JSON_OBJECT) {
        read_tags(patient_tags, 1, out);
    }
    if (labels) {
        int i;
        if (labels->type != OP_JSON_ARRAY) {
            return "Labels is not an array";
        }
        out->labels = apr_array_make(p, labels->items->nelts,
                                     sizeof(const char *));
        for (i = 0; i < labels->items->nelts; i++) {
            const op_json *label = APR_ARRAY_IDX(labels->items, i,
                                                 const op_json *);
            if (label->type == OP_JSON_STRING) {
                APR_ARRAY_PUSH(out->labels, const char *) = label->text;
            }
        }
    }
    return NULL;
}

/* DICOM wildcard matching, '*' any run of bytes, '?' one byte; iterative
 * with one backtracking point, so no pattern costs more than
 * length x length. */
static int wildcard_match(const char *pattern, const char *value)
{
    const char *star = NULL, *resume = NULL;

    while (*value) {
        if (*pattern == '*') {
            star = pattern++;
            resume = value;
        }
        else if (*pattern == '?' || *pattern == *value) {
            pattern++;
            value++;
        }
        else if (star) {
            pattern = star + 1;
            value = ++resume;
        }
        else {
            return 0;
        }
    }
    while (*pattern == '*') {
        pattern++;
    }
    return *pattern == '\0';
}

int op_study_value_matches(const op_study_attribute *attribute,
                           const char *pattern, const char *value)
{
    if (value == NULL) {
        value = "";
    }
    if (attribute->wildcards) {
        return wildcard_match(pattern, value);
    }
    return strcmp(pattern, value) == 0;
}

static int has_label(const op_study_facts *facts, const char *label)
{
    int i;
    for (i = 0; facts->labels && i < facts->labels->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(facts->labels, i, const char *), label) == 0) {
            return 1;
        }
    }
    return 0;
}

static int term_holds(const op_study_term *term, const op_study_facts *facts)
{
    if (term->kind == OP_FILTER_LABEL) {
        return has_label(facts, term->value);
    }
    return op_study_value_matches(
        term->attribute, term->value,
        facts->values[op_study_attribute_index(term->attribute)]);
}

int op_study_scope_allows(const op_study_scope *scope,
                          const op_study_facts *facts)
{
    int i, j;

    if (scope->all) {
        return 1;
    }
    for (i = 0; scope->clauses && i < scope->clauses->nelts; i++) {
        const apr_array_header_t *terms =
            APR_ARRAY_IDX(scope->clauses, i, const apr_array_header_t *);
        int holds = 1;
        for (j = 0; holds && j < terms->nelts; j++) {
            holds = term_holds(&APR_ARRAY_IDX(terms, j, op_study_term), facts);
        }
        if (holds) {
            return 1;
        }
    }
    return 0;
}

const char *op_study_orthanc_id(apr_pool_t *p, const char *patient_id,
                                const char *study_uid)
{
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t ctx;
    char *out = apr_palloc(p, 45), *o = out;
    int i;

    apr_sha1_init(&ctx);
    apr_sha1_update(&ctx, patient_id, (unsigned int)strlen(patient_id));
    apr_sha1_update(&ctx, "|", 1);
    apr_sha1_update(&ctx, study_uid, (unsigned int)strlen(study_uid));
    apr_sha1_final(digest, &ctx);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        if (i > 0 && i % 4 == 0) {
            *o++ = '-';
        }
        *o++ = "0123456789abcdef"[digest[i] >> 4];
        *o++ = "0123456789abcdef"[digest[i] & 15];
    }
    *o = '\0';
    return out;
}
