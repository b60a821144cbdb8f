/* SPDX-License-Identifier: Apache-2.0 */
/* Searches and lists under a study scope: study_query.c */
#include <string.h>
#include "unit_tests.h"
#include "json_write.h"
#include "study_query.h"

static op_study_term term(const char *word)
{
    op_study_filter f;
    op_study_term t;
    ck_assert_ptr_null(op_study_filter_parse(test_pool, word, &f));
    ck_assert_ptr_null(op_study_filter_expand(test_pool, &f, NULL, &t));
    return t;
}

/* A scope of one clause (A and B), or of two (A or B) when OR. */
static op_study_scope scope_of(const char *a, const char *b, int or)
{
    op_study_scope scope;
    apr_array_header_t *terms = apr_array_make(test_pool, 2,
                                               sizeof(op_study_term));
    op_study_scope_init(test_pool, &scope);
    APR_ARRAY_PUSH(terms, op_study_term) = term(a);
    if (b && or) {
        op_study_scope_add(&scope, terms);
        terms = apr_array_make(test_pool, 2, sizeof(op_study_term));
    }
    if (b) {
        APR_ARRAY_PUSH(terms, op_study_term) = term(b);
    }
    op_study_scope_add(&scope, terms);
    op_study_scope_finish(test_pool, &scope);
    return scope;
}

START_TEST(names_that_orthanc_reads_as_a_tag)
{
    const op_study_attribute *a = op_study_attribute_find("InstitutionName");
#define MAY(text) op_dicom_name_may_be(text, strlen(text), a)
    ck_assert(MAY("InstitutionName"));
    ck_assert(MAY("institutionname"));
    ck_assert(MAY("00080080"));
    ck_assert(MAY("0008,0080"));
    ck_assert(MAY("8,80"));
    ck_assert(MAY("0x8,0x80"));
    ck_assert(MAY(" 0008, 0080garbage"));
    ck_assert(MAY("10008,0080"));             /* modulo 65536 */
    ck_assert(MAY("-fff8,0080"));             /* -0xfff8 is 8 */
    ck_assert(!MAY("0008,0081"));
    ck_assert(!MAY("Institution"));
    ck_assert(!MAY("0008 ,0080"));
    ck_assert(!MAY("limit"));
#undef MAY
}
END_TEST

START_TEST(qido_carries_one_clause)
{
    op_study_scope s = scope_of("InstitutionName=Cardio*", "StudyDate=20040119", 0);
    op_list_plan plan = op_qido_plan(test_pool, "limit=101&offset=0", &s);
    ck_assert(plan.exact);
    ck_assert_str_eq(plan.query, "limit=101&offset=0&InstitutionName=Cardio*"
                     "&StudyDate=20040119");
    plan = op_qido_plan(test_pool, NULL, &s);
    ck_assert(plan.exact);
    ck_assert_str_eq(plan.query, "InstitutionName=Cardio*&StudyDate=20040119");
}
END_TEST

START_TEST(qido_filters_what_orthanc_cannot_apply)
{
    /* The client names the attribute, in any spelling. */
    op_study_scope s = scope_of("InstitutionName=Cardio*", NULL, 0);
    op_list_plan plan = op_qido_plan(test_pool, "00080080=X&limit=10&offset=5", &s);
    ck_assert(!plan.exact);
    ck_assert_ptr_null(plan.error);
    ck_assert_str_eq(plan.query, "00080080=X");
    ck_assert_int_eq(plan.limit, 10);
    ck_assert_int_eq(plan.offset, 5);
    /* Hidden from some releases only. */
    plan = op_qido_plan(test_pool, "x=%26InstitutionName%3D*", &s);
    ck_assert(!plan.exact);
    /* Fuzzy matching would widen person names. */
    plan = op_qido_plan(test_pool, "fuzzymatching=true", &s);
    ck_assert(!plan.exact);
    /* A value that needs escapes is read differently by releases. */
    s = scope_of("InstitutionName=JFK IMAGING*", NULL, 0);
    plan = op_qido_plan(test_pool, "limit=2", &s);
    ck_assert(!plan.exact);
    ck_assert_ptr_null(plan.query);
    ck_assert_int_eq(plan.limit, 2);
    /* Labels: the plugin has no such filter. */
    s = scope_of("label=research", NULL, 0);
    plan = op_qido_plan(test_pool, "limit=2", &s);
    ck_assert(!plan.exact);
    /* Two clauses: Orthanc has no OR; nothing added. */
    s = scope_of("InstitutionName=A", "InstitutionName=B", 1);
    plan = op_qido_plan(test_pool, "PatientName=X*&limit=1", &s);
    ck_assert(!plan.exact);
    ck_assert_str_eq(plan.query, "PatientName=X*");
    /* One clause, partly expressible: what is, narrows. */
    s = scope_of("InstitutionName=A*", "label=x", 0);
    plan = op_qido_plan(test_pool, "limit=1", &s);
    ck_assert(!plan.exact);
    ck_assert_str_eq(plan.query, "InstitutionName=A*");
}
END_TEST

START_TEST(qido_paging_read_alike_or_refused)
{
    op_study_scope s = scope_of("label=research", NULL, 0);
    op_list_plan plan = op_qido_plan(test_pool, "limit=1%30", &s);
    ck_assert_ptr_nonnull(plan.error);
    plan = op_qido_plan(test_pool, "x=%26limit%3D3", &s);
    ck_assert_ptr_nonnull(plan.error);
    plan = op_qido_plan(test_pool, "limit=x", &s);
    ck_assert_ptr_nonnull(plan.error);
    plan = op_qido_plan(test_pool, "limit=3&limit=4", &s);
    ck_assert_ptr_null(plan.error);
    ck_assert_int_eq(plan.limit, 4);
}
END_TEST

START_TEST(rest_lists_lose_their_paging)
{
    op_list_plan plan = op_rest_list_plan(test_pool, "expand&since=10&limit=5");
    ck_assert_str_eq(plan.query, "expand");
    ck_assert_int_eq(plan.offset, 10);
    ck_assert_int_eq(plan.limit, 5);
    plan = op_rest_list_plan(test_pool, NULL);
    ck_assert_ptr_null(plan.query);
    ck_assert_int_eq(plan.limit, 0);
}
END_TEST

static op_list_plan find(const char *body, const op_study_scope *scope,
                         int labels)
{
    return op_find_plan(test_pool, body, strlen(body), scope, labels);
}

START_TEST(find_carries_attributes_and_labels)
{
    op_study_scope s = scope_of("InstitutionName=Cardio*", "label=research", 0);
    op_list_plan plan = find("{\"Level\":\"Study\",\"Query\":{\"PatientName\":\"A*\"},"
                             "\"Limit\":10}", &s, 1);
    ck_assert(plan.exact);
    ck_assert(plan.reduce_to_ids);
    ck_assert_str_eq(plan.body, "{\"Level\":\"Study\",\"Query\":{\"PatientName\":"
                     "\"A*\",\"InstitutionName\":\"Cardio*\"},\"Limit\":10,"
                     "\"Labels\":[\"research\"],\"LabelsConstraint\":\"All\","
                     "\"Expand\":true}");
    /* The client's labels, all required: the scope's are added. */
    plan = find("{\"Level\":\"study\",\"Query\":{},\"Labels\":[\"a\"],\"Expand\":true}",
                &s, 1);
    ck_assert(plan.exact);
    ck_assert(!plan.reduce_to_ids);
    ck_assert_str_eq(plan.body, "{\"Level\":\"study\",\"Query\":{\"InstitutionName\":"
                     "\"Cardio*\"},\"Labels\":[\"a\",\"research\"],\"Expand\":true,"
                     "\"LabelsConstraint\":\"All\"}");
    /* "Any" cannot be combined. */
    plan = find("{\"Level\":\"Study\",\"Query\":{},\"Labels\":[\"a\"],"
                "\"LabelsConstraint\":\"Any\",\"Since\":2,\"Limit\":3}", &s, 1);
    ck_assert(!plan.exact);
    ck_assert_int_eq(plan.offset, 2);
    ck_assert_int_eq(plan.limit, 3);
    ck_assert_ptr_null(strstr(plan.body, "Limit"));
    /* Labels of a series are not its study's. */
    plan = find("{\"Level\":\"Series\",\"Query\":{}}", &s, 1);
    ck_assert(!plan.exact);
    ck_assert_ptr_nonnull(strstr(plan.body, "\"InstitutionName\":\"Cardio*\""));
    ck_assert_ptr_null(strstr(plan.body, "research"));
    /* Without labels in Orthanc. */
    plan = find("{\"Level\":\"Study\",\"Query\":{}}", &s, 0);
    ck_assert(!plan.exact);
}
END_TEST

START_TEST(find_leaves_the_clients_attributes)
{
    op_study_scope s = scope_of("InstitutionName=Cardio*", NULL, 0);
    op_list_plan plan = find("{\"Level\":\"Study\",\"Query\":{\"0008,0080\":\"*\"}}",
                             &s, 0);
    ck_assert(!plan.exact);
    ck_assert_ptr_nonnull(strstr(plan.body, "\"0008,0080\":\"*\""));
    ck_assert_ptr_null(strstr(plan.body, "Cardio"));
    /* Patients: every study of theirs must pass, Orthanc cannot say. */
    plan = find("{\"Level\":\"Patient\",\"Query\":{}}", &s, 0);
    ck_assert(!plan.exact);
    ck_assert_int_eq(plan.level, OP_RESOURCE_PATIENT);
}
END_TEST

START_TEST(find_person_names_with_case)
{
    op_study_scope s = scope_of("ReferringPhysicianName=SMITH^*", NULL, 0);
    op_list_plan plan = find("{\"Level\":\"Study\",\"Query\":{}}", &s, 0);
    ck_assert(plan.exact);
    ck_assert_ptr_nonnull(strstr(plan.body, "\"CaseSensitive\":true"));
    plan = find("{\"Level\":\"Study\",\"Query\":{\"StudyDescription\":\"x\"}}",
                &s, 0);
    ck_assert(!plan.exact);
    plan = find("{\"Level\":\"Study\",\"Query\":{},\"CaseSensitive\":true}", &s, 0);
    ck_assert(plan.exact);
}
END_TEST

START_TEST(find_refuses_what_readers_disagree_on)
{
    op_study_scope s = scope_of("InstitutionName=Cardio*", NULL, 0);
    ck_assert_ptr_nonnull(find("{\"Level\":\"Study\",\"Query\":{},\"Query\":{}}",
                               &s, 0).error);
    ck_assert_ptr_nonnull(find("{\"Level\":\"Study\",\"Query\":{\"a\":1,\"a\":2}}",
                               &s, 0).error);
    ck_assert_ptr_nonnull(find("[]", &s, 0).error);
    ck_assert_ptr_nonnull(find("{\"Level\":\"Nothing\",\"Query\":{}}", &s, 0).error);
    ck_assert_ptr_nonnull(find("{\"Level\":\"Study\"}", &s, 0).error);
    ck_assert_ptr_nonnull(find("{\"Level\":\"Study\",\"Query\":{},\"Limit\":1.5}",
                               &s, 1).error);
    ck_assert_ptr_nonnull(find("{\"Level\":\"Study\",\"Query\":{}} // x", &s, 0).error);
}
END_TEST

START_TEST(answers_are_selected_and_paged)
{
    const char *text = "[{\"ID\":\"a\"},{\"ID\":\"b\"},{\"ID\":\"c\"},{\"ID\":\"d\"}]";
    op_json *array;
    const char keep[] = { 1, 0, 1, 1 };
    ck_assert_ptr_null(op_json_parse(test_pool, text, strlen(text), &array));
    ck_assert_str_eq(op_json_write(test_pool, op_json_select(
        test_pool, array, keep, 1, 1, 1), NULL), "[\"c\"]");
    ck_assert_str_eq(op_json_write(test_pool, op_json_select(
        test_pool, array, keep, 0, 0, 0), NULL),
        "[{\"ID\":\"a\"},{\"ID\":\"c\"},{\"ID\":\"d\"}]");
}
END_TEST

START_TEST(reads_qido_items)
{
    const char *text = "{\"0020000D\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]},"
                       "\"00100020\":{\"vr\":\"LO\",\"Value\":[\"P1\"]}}";
    const char *uid, *pid;
    op_json *item;
    ck_assert_ptr_null(op_json_parse(test_pool, text, strlen(text), &item));
    ck_assert(op_qido_item_study(item, &uid, &pid));
    ck_assert_str_eq(uid, "1.2.3");
    ck_assert_str_eq(pid, "P1");
    text = "{\"00100020\":{\"vr\":\"LO\"}}";
    ck_assert_ptr_null(op_json_parse(test_pool, text, strlen(text), &item));
    ck_assert(!op_qido_item_study(item, &uid, &pid));
    ck_assert_ptr_null(pid);
}
END_TEST

Suite *study_query_suite(void)
{
    Suite *s = suite_create("study_query");
    TCase *tc = pooled_tcase("study_query");
    tcase_add_test(tc, names_that_orthanc_reads_as_a_tag);
    tcase_add_test(tc, qido_carries_one_clause);
    tcase_add_test(tc, qido_filters_what_orthanc_cannot_apply);
    tcase_add_test(tc, qido_paging_read_alike_or_refused);
    tcase_add_test(tc, rest_lists_lose_their_paging);
    tcase_add_test(tc, find_carries_attributes_and_labels);
    tcase_add_test(tc, find_leaves_the_clients_attributes);
    tcase_add_test(tc, find_person_names_with_case);
    tcase_add_test(tc, find_refuses_what_readers_disagree_on);
    tcase_add_test(tc, answers_are_selected_and_paged);
    tcase_add_test(tc, reads_qido_items);
    suite_add_tcase(s, tc);
    return s;
}
