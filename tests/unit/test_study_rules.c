/* SPDX-License-Identifier: Apache-2.0 */
/* OrthancProxyStudies' filters, scopes and decisions: study_rules.c */
#include <string.h>
#include "unit_tests.h"
#include "study_rules.h"

static op_study_filter filter(const char *word)
{
    op_study_filter f;
    const char *err = op_study_filter_parse(test_pool, word, &f);
    ck_assert_msg(err == NULL, "%s: %s", word, err ? err : "");
    return f;
}

static void bad_filter(const char *word, const char *because)
{
    op_study_filter f;
    const char *err = op_study_filter_parse(test_pool, word, &f);
    ck_assert_msg(err != NULL, "accepted: %s", word);
    ck_assert_msg(strstr(err, because) != NULL, "%s: %s", word, err);
}

/* A term from a filter without variables, or with the values given. */
static op_study_term term(const char *word, const char *v1)
{
    op_study_filter f = filter(word);
    const char *values[2];
    op_study_term t;
    const char *err;
    values[0] = v1;
    values[1] = NULL;
    err = op_study_filter_expand(test_pool, &f, values, &t);
    ck_assert_msg(err == NULL, "%s: %s", word, err ? err : "");
    return t;
}

static apr_array_header_t *clause(const char *a, const char *b)
{
    apr_array_header_t *terms = apr_array_make(test_pool, 2,
                                               sizeof(op_study_term));
    if (a) {
        APR_ARRAY_PUSH(terms, op_study_term) = term(a, NULL);
    }
    if (b) {
        APR_ARRAY_PUSH(terms, op_study_term) = term(b, NULL);
    }
    return terms;
}

static op_study_facts facts(const char *json)
{
    op_json *value;
    op_study_facts f;
    const char *err = op_json_parse(test_pool, json, strlen(json), &value);
    ck_assert_msg(err == NULL, "%s", err ? err : "");
    err = op_study_facts_read(test_pool, value, &f);
    ck_assert_msg(err == NULL, "%s", err ? err : "");
    return f;
}

#define CARDIO_STUDY \
    "{\"ID\":\"8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d\"," \
    "\"Type\":\"Study\",\"ParentPatient\":\"fa558bce-587a86d3-ad0da9b3-9d043d9d-4f5c5718\"," \
    "\"MainDicomTags\":{\"InstitutionName\":\"Cardio North\"," \
    "\"ReferringPhysicianName\":\"SMITH^JOHN\",\"StudyDate\":\"20040119\"," \
    "\"StudyInstanceUID\":\"1.3.6.1.4.1.5962.1.2.1.20040119072730.12322\"}," \
    "\"PatientMainDicomTags\":{\"PatientID\":\"1CT1\"}," \
    "\"Labels\":[\"research\",\"teaching\"]}"

START_TEST(parses_filters)
{
    op_study_filter f = filter("InstitutionName=Cardio*");
    ck_assert_int_eq(f.kind, OP_FILTER_ATTRIBUTE);
    ck_assert_str_eq(f.attribute->keyword, "InstitutionName");
    ck_assert_int_eq(f.parts->nelts, 1);
    ck_assert_int_eq(filter("all").kind, OP_FILTER_ALL);
    ck_assert_int_eq(filter("none").kind, OP_FILTER_NONE);
    ck_assert_int_eq(filter("label=research").kind, OP_FILTER_LABEL);
    f = filter("ReferringPhysicianName=%{toupper:%{REMOTE_USER}}^*");
    ck_assert(op_study_filter_has_variables(&f));
    ck_assert_int_eq(f.parts->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(f.parts, 0, op_value_part).text,
                     "toupper:%{REMOTE_USER}");
    ck_assert(APR_ARRAY_IDX(f.parts, 0, op_value_part).variable);
    ck_assert_str_eq(APR_ARRAY_IDX(f.parts, 1, op_value_part).text, "^*");
    filter("StudyDate=20240101");
    filter("StudyInstanceUID=1.2.3");
    filter("label=%{REMOTE_USER}");
}
END_TEST

START_TEST(refuses_filters_that_would_mean_more)
{
    bad_filter("InstitutionName=", "empty value");
    bad_filter("Modality=CT", "not an attribute");
    bad_filter("institutionname=x", "not an attribute");
    bad_filter("InstitutionName=a\\b", "may not hold");
    bad_filter("InstitutionName=a,b", "may not hold");
    bad_filter("StudyDate=2024*", "exact value");
    bad_filter("StudyDate=20240101-", "date");
    bad_filter("StudyInstanceUID=1.2.*", "exact value");
    bad_filter("label=re search", "label");
    bad_filter("InstitutionName=%{REMOTE_USER", "closing");
    bad_filter("InstitutionName=%{}", "closing");
    bad_filter("InstitutionName= x", "space");
    bad_filter("nothing", "not a filter");
}
END_TEST

START_TEST(expansions_are_literals)
{
    op_study_filter f = filter("ReferringPhysicianName=%{REMOTE_USER}^*");
    const char *values[1];
    op_study_term t;

    values[0] = "SMITH";
    ck_assert_ptr_null(op_study_filter_expand(test_pool, &f, values, &t));
    ck_assert_str_eq(t.value, "SMITH^*");
    /* What would widen the match makes the line match nothing. */
    values[0] = "";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = NULL;
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = "*";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = "S?ITH";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = "A\\B";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = "A,B";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = "A\nB";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    f = filter("label=%{REMOTE_USER}");
    values[0] = "team-7";
    ck_assert_ptr_null(op_study_filter_expand(test_pool, &f, values, &t));
    values[0] = "team 7";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
    f = filter("StudyInstanceUID=%{REMOTE_USER}");
    values[0] = "1.2.x";
    ck_assert_ptr_nonnull(op_study_filter_expand(test_pool, &f, values, &t));
}
END_TEST

START_TEST(matches_as_orthanc_does)
{
    const op_study_attribute *inst = op_study_attribute_find("InstitutionName");
    const op_study_attribute *date = op_study_attribute_find("StudyDate");

    ck_assert(op_study_value_matches(inst, "Cardio*", "Cardio North"));
    ck_assert(op_study_value_matches(inst, "*North", "Cardio North"));
    ck_assert(op_study_value_matches(inst, "C?rdio*h", "Cardio North"));
    ck_assert(op_study_value_matches(inst, "*", ""));
    ck_assert(op_study_value_matches(inst, "*", NULL));
    ck_assert(op_study_value_matches(inst, "**a**", "a"));
    ck_assert(!op_study_value_matches(inst, "cardio*", "Cardio North"));
    ck_assert(!op_study_value_matches(inst, "Cardio", "Cardio North"));
    ck_assert(!op_study_value_matches(inst, "Cardio?", "Cardio"));
    ck_assert(!op_study_value_matches(inst, "?", ""));
    ck_assert(op_study_value_matches(inst, "a*b*c", "axxbyyc"));
    ck_assert(!op_study_value_matches(inst, "a*b*c", "axxbyy"));
    /* '?' is one byte, as in Orthanc's regular expression. */
    ck_assert(op_study_value_matches(inst, "caf??", "caf\xc3\xa9"));
    /* No wildcard where Orthanc has none. */
    ck_assert(!op_study_value_matches(date, "2004*", "20040119"));
    ck_assert(op_study_value_matches(date, "20040119", "20040119"));
}
END_TEST

START_TEST(decides_on_facts)
{
    op_study_facts f = facts(CARDIO_STUDY);
    op_study_scope scope;

    ck_assert_str_eq(f.id, "8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d");
    ck_assert_str_eq(f.uid, "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
    ck_assert_int_eq(f.labels->nelts, 2);

    op_study_scope_init(test_pool, &scope);
    op_study_scope_finish(test_pool, &scope);
    ck_assert(!op_study_scope_allows(&scope, &f));   /* no line: nothing */
    ck_assert_str_eq(scope.identity, "none");

    op_study_scope_init(test_pool, &scope);
    op_study_scope_add(&scope, clause("InstitutionName=Cardio*", "label=research"));
    op_study_scope_finish(test_pool, &scope);
    ck_assert(op_study_scope_allows(&scope, &f));
    ck_assert(scope.uses_labels);

    op_study_scope_init(test_pool, &scope);
    op_study_scope_add(&scope, clause("InstitutionName=Cardio*", "label=other"));
    ck_assert(!op_study_scope_allows(&scope, &f));   /* AND */
    op_study_scope_add(&scope, clause("PatientID=1CT1", NULL));
    ck_assert(op_study_scope_allows(&scope, &f));    /* OR */
    op_study_scope_none(&scope);
    ck_assert(!op_study_scope_allows(&scope, &f));   /* none vetoes */
    op_study_scope_everything(&scope);
    op_study_scope_add(&scope, clause("PatientID=1CT1", NULL));
    ck_assert(!op_study_scope_allows(&scope, &f));   /* whatever follows */

    op_study_scope_init(test_pool, &scope);
    op_study_scope_add(&scope, clause("StudyDate=20040119", NULL));
    op_study_scope_everything(&scope);
    ck_assert(op_study_scope_allows(&scope, &f));
    op_study_scope_finish(test_pool, &scope);
    ck_assert_str_eq(scope.identity, "all");
}
END_TEST

START_TEST(labels_need_labels)
{
    /* Orthanc before 1.12 shows no labels: a label never holds. */
    op_study_facts f = facts(
        "{\"ID\":\"8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d\","
        "\"MainDicomTags\":{\"StudyInstanceUID\":\"1.2\"}}");
    op_study_scope scope;
    ck_assert_ptr_null(f.labels);
    op_study_scope_init(test_pool, &scope);
    op_study_scope_add(&scope, clause("label=research", NULL));
    ck_assert(!op_study_scope_allows(&scope, &f));
}
END_TEST

START_TEST(identities_are_canonical)
{
    op_study_scope a, b, c;

    op_study_scope_init(test_pool, &a);
    op_study_scope_add(&a, clause("label=x", "InstitutionName=A"));
    op_study_scope_add(&a, clause("PatientID=p;q|r", NULL));
    op_study_scope_finish(test_pool, &a);
    op_study_scope_init(test_pool, &b);
    op_study_scope_add(&b, clause("PatientID=p;q|r", NULL));
    op_study_scope_add(&b, clause("InstitutionName=A", "label=x"));
    op_study_scope_add(&b, clause("PatientID=p;q|r", NULL));
    op_study_scope_finish(test_pool, &b);
    ck_assert_str_eq(a.identity, b.identity);
    ck_assert_str_eq(a.identity,
                     "InstitutionName=A;label=x|PatientID=p%3Bq%7Cr");
    op_study_scope_init(test_pool, &c);
    op_study_scope_add(&c, clause("label=x", NULL));
    op_study_scope_add(&c, clause("InstitutionName=A", NULL));
    op_study_scope_finish(test_pool, &c);
    ck_assert_str_ne(a.identity, c.identity);
}
END_TEST

START_TEST(reads_facts_strictly)
{
    op_json *v;
    op_study_facts f;
    const char *text = "{\"ID\":\"x\",\"MainDicomTags\":{}}";
    ck_assert_ptr_null(op_json_parse(test_pool, text, strlen(text), &v));
    ck_assert_ptr_nonnull(op_study_facts_read(test_pool, v, &f));
    text = "{\"ID\":\"8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d\","
           "\"Type\":\"Series\",\"MainDicomTags\":{}}";
    ck_assert_ptr_null(op_json_parse(test_pool, text, strlen(text), &v));
    ck_assert_ptr_nonnull(op_study_facts_read(test_pool, v, &f));
}
END_TEST

START_TEST(checks_identifiers)
{
    ck_assert(op_study_uid_is_valid("1.2.840.10008.1"));
    ck_assert(!op_study_uid_is_valid(""));
    ck_assert(!op_study_uid_is_valid("1..2"));
    ck_assert(!op_study_uid_is_valid(".1"));
    ck_assert(!op_study_uid_is_valid("1.2*"));
    ck_assert(!op_study_uid_is_valid("1.2\\1.3"));
    ck_assert(op_orthanc_id_is_valid("8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d"));
    ck_assert(!op_orthanc_id_is_valid("8A8CF898-ca27c490-d0c7058c-929d0581-2bbf104d"));
    ck_assert(!op_orthanc_id_is_valid("8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104"));
    ck_assert(op_study_label_is_valid("a_b-9"));
    ck_assert(!op_study_label_is_valid("a.b"));
    ck_assert_str_eq(op_study_orthanc_id(test_pool, "1CT1",
                     "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"),
                     "8a8cf898-ca27c490-d0c7058c-929d0581-2bbf104d");
}
END_TEST

Suite *study_rules_suite(void)
{
    Suite *s = suite_create("study_rules");
    TCase *tc = pooled_tcase("study_rules");
    tcase_add_test(tc, parses_filters);
    tcase_add_test(tc, refuses_filters_that_would_mean_more);
    tcase_add_test(tc, expansions_are_literals);
    tcase_add_test(tc, matches_as_orthanc_does);
    tcase_add_test(tc, decides_on_facts);
    tcase_add_test(tc, labels_need_labels);
    tcase_add_test(tc, identities_are_canonical);
    tcase_add_test(tc, reads_facts_strictly);
    tcase_add_test(tc, checks_identifiers);
    suite_add_tcase(s, tc);
    return s;
}
