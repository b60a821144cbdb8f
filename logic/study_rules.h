/* SPDX-License-Identifier: Apache-2.0 */
/*
 * study_rules.h - which studies a user may see: the filters of
 * OrthancProxyStudies, the scope they make for one request, and the
 * decision on one study.
 *
 *   OrthancProxyStudies CONDITION FILTER [FILTER ...]
 *
 * A FILTER is "all", "none", "label=NAME" or ATTRIBUTE=VALUE, where
 * ATTRIBUTE is a main DICOM tag of Orthanc's studies (or of their patient)
 * and VALUE a DICOM matching value: exact, or with the wildcards '*' and
 * '?' for the attributes whose VR allows them, as Orthanc's own search
 * matches (DatabaseLookup: case-sensitive, '?' one byte).  VALUE and NAME
 * may hold %{...} references that Apache expands for each request (the
 * user's name, an LDAP attribute): an expansion is a literal, never a
 * pattern, and one that could widen the match (empty, a wildcard, a list
 * separator) makes its line match nothing.
 *
 * The filters of one line must all hold (AND); a user matched by several
 * lines sees what any of them allows (OR); "none" on a matching line
 * hides everything whatever the others say; "all" shows everything.  A
 * user no line matches sees nothing.
 *
 * The decision needs the study's facts as Orthanc gives them
 * (GET /studies/{id}, or an item of POST /tools/find with "Expand"):
 * its main DICOM tags, its patient's, and its labels (Orthanc >= 1.12).
 */
#ifndef ORTHANC_PROXY_STUDY_RULES_H
#define ORTHANC_PROXY_STUDY_RULES_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "json_read.h"

/* --------------------------------------------------------- attributes */

typedef struct {
    const char *keyword;        /* "InstitutionName" */
    unsigned group, element;    /* 0x0008, 0x0080 */
    const char *vr;             /* "LO" */
    int patient_level;          /* in PatientMainDicomTags */
    int wildcards;              /* '*' and '?' are wildcards (string VRs) */
} op_study_attribute;

/* The attributes a rule may name, ended by an entry whose keyword is
 * NULL; their number. */
const op_study_attribute *op_study_attributes(void);
#define OP_STUDY_ATTRIBUTES 11

/* The attribute called KEYWORD (exactly), or NULL. */
const op_study_attribute *op_study_attribute_find(const char *keyword);

/* Its index in op_study_attributes(). */
int op_study_attribute_index(const op_study_attribute *attribute);

/* ----------------------------------------------------------- filters */

typedef enum {
    OP_FILTER_ALL,
    OP_FILTER_NONE,
    OP_FILTER_LABEL,
    OP_FILTER_ATTRIBUTE
} op_filter_kind;

/* A piece of a value as written: literal text, or the text of one
 * %{...} reference (without "%{" and "}"). */
typedef struct {
    const char *text;
    int variable;
} op_value_part;

typedef struct {
    op_filter_kind kind;
    const op_study_attribute *attribute;   /* ATTRIBUTE */
    apr_array_header_t *parts;             /* op_value_part: LABEL, ATTRIBUTE */
    const char *written;                   /* as written, for messages */
} op_study_filter;

/* Reads one FILTER word; NULL, or what is wrong with it. */
const char *op_study_filter_parse(apr_pool_t *p, const char *word,
                                  op_study_filter *out);

/* Whether FILTER's value holds a %{...} reference. */
int op_study_filter_has_variables(const op_study_filter *filter);

/* One term of a request's scope: FILTER with its references expanded. */
typedef struct {
    op_filter_kind kind;                   /* LABEL or ATTRIBUTE */
    const op_study_attribute *attribute;
    const char *value;                     /* the pattern, or the label */
} op_study_term;

/* FILTER (LABEL or ATTRIBUTE) with EXPANDED, the values of its variable
 * parts in order; NULL and *OUT set, or why the line cannot match: an
 * expansion that is empty or holds a character that would widen the
 * match. */
const char *op_study_filter_expand(apr_pool_t *p, const op_study_filter *filter,
                                   const char *const *expanded,
                                   op_study_term *out);

/* ------------------------------------------------------------- scopes */

/* What one request may see. */
typedef struct {
    int all;                      /* every study */
    /* Otherwise: a study passes when one clause holds (an empty list: no
     * study passes).  Each clause is an array of op_study_term that must
     * all hold. */
    apr_array_header_t *clauses;
    int uses_labels;              /* some term is a label */
    const char *identity;         /* canonical text: equal for scopes that
                                   * allow the same, different otherwise */
} op_study_scope;

/* An empty scope (nothing visible) that clauses are added to. */
void op_study_scope_init(apr_pool_t *p, op_study_scope *scope);

/* Adds a clause (op_study_term array; an empty one holds for every
 * study, as "all" does). */
void op_study_scope_add(op_study_scope *scope, apr_array_header_t *terms);

/* The scope after a "none" or "all" line. */
void op_study_scope_none(op_study_scope *scope);
void op_study_scope_everything(op_study_scope *scope);

/* Fixes the identity once every clause is added. */
void op_study_scope_finish(apr_pool_t *p, op_study_scope *scope);

/* ------------------------------------------------------------ studies */

/* What the decision reads of a study. */
typedef struct {
    const char *id;               /* Orthanc's ID */
    const char *uid;              /* StudyInstanceUID */
    const char *patient;          /* Orthanc's ID of its patient */
    /* By attribute index; NULL when Orthanc does not show the tag. */
    const char *values[OP_STUDY_ATTRIBUTES];
    /* Its labels (const char *); NULL when Orthanc shows none (before
     * 1.12, labels do not exist). */
    apr_array_header_t *labels;
} op_study_facts;

/* Reads STUDY, one study as Orthanc shows it (GET /studies/{id}, or an
 * expanded item of /tools/find at the study level); NULL or what is
 * missing. */
const char *op_study_facts_read(apr_pool_t *p, const op_json *study,
                                op_study_facts *out);

/* Whether SCOPE lets its user see the study FACTS describes. */
int op_study_scope_allows(const op_study_scope *scope,
                          const op_study_facts *facts);

/* Whether VALUE matches PATTERN as Orthanc's search matches a value of
 * ATTRIBUTE: byte for byte, and for the attributes with wildcards '*'
 * for any run of bytes and '?' for one byte. */
int op_study_value_matches(const op_study_attribute *attribute,
                           const char *pattern, const char *value);

/* Whether NAME is a valid Orthanc label: 1 to 64 letters, digits, '_'
 * and '-'. */
int op_study_label_is_valid(const char *name);

/* Whether TEXT is a DICOM UID: 1 to 64 digits and dots. */
int op_study_uid_is_valid(const char *text);

/* Whether TEXT is an Orthanc ID: five groups of eight lower-case
 * hexadecimal digits joined by '-'. */
int op_orthanc_id_is_valid(const char *text);

/* The Orthanc ID of the study PATIENT_ID|STUDY_UID (Orthanc hashes these
 * two with SHA-1: DicomInstanceHasher). */
const char *op_study_orthanc_id(apr_pool_t *p, const char *patient_id,
                                const char *study_uid);

#endif
