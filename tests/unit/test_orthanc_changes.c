/* SPDX-License-Identifier: Apache-2.0 */
/* Orthanc's change log and statistics: orthanc_changes.c */
#include <string.h>
#include "unit_tests.h"
#include "orthanc_changes.h"

#define CHANGE(type, level, id, seq) \
    "{\"ChangeType\": \"" type "\", \"Date\": \"20261201T102903\", " \
    "\"ID\": \"" id "\", \"Path\": \"/x\", \"ResourceType\": \"" level "\", " \
    "\"Seq\": " #seq "}"

static op_changes_page parse_page(const char *text)
{
    op_changes_page page;
    const char *err = op_changes_parse(test_pool, text, strlen(text), &page);
    ck_assert_msg(err == NULL, "%s", err ? err : "");
    return page;
}

START_TEST(reads_the_change_log)
{
    op_changes_page page = parse_page(
        "{\"Changes\": [" CHANGE("NewInstance", "Instance", "i1", 7) ", "
        CHANGE("NewSeries", "Series", "s1", 8) ", "
        CHANGE("JobSuccess", "", "j", 9) "], \"Done\": false, \"Last\": 9}");
    const op_change *c = (const op_change *)page.changes->elts;

    ck_assert_int_eq(page.changes->nelts, 3);
    ck_assert(!page.done);
    ck_assert_int_eq(page.last, 9);
    ck_assert_str_eq(c[0].type, "NewInstance");
    ck_assert_int_eq(c[0].level, OP_RESOURCE_INSTANCE);
    ck_assert_str_eq(c[1].id, "s1");
    ck_assert_int_eq(c[1].level, OP_RESOURCE_SERIES);
    ck_assert_int_eq(c[2].level, OP_RESOURCE_UNKNOWN);
    ck_assert_int_eq(op_changes_new_instances(page.changes), 1);

    /* An empty page: "Last" is the database's high-water mark. */
    page = parse_page("{\"Changes\": [], \"Done\": true, \"Last\": 12}");
    ck_assert(page.done);
    ck_assert_int_eq(page.changes->nelts, 0);
    ck_assert_int_eq(page.last, 12);
}
END_TEST

START_TEST(refuses_other_answers)
{
    static const char *const BAD[] = {
        "{\"Changes\": [], \"Done\": true}",
        "{\"Changes\": {}, \"Done\": true, \"Last\": 1}",
        "{\"Changes\": [{\"ID\": \"x\"}], \"Done\": true, \"Last\": 1}",
        "[]", "not json", NULL
    };
    const char *const *text;
    for (text = BAD; *text; text++) {
        op_changes_page page;
        ck_assert_msg(op_changes_parse(test_pool, *text, strlen(*text), &page)
                      != NULL, "%s", *text);
    }
}
END_TEST

START_TEST(reads_statistics_and_resources)
{
    static const char STATS[] = "{\"CountInstances\": 2, \"TotalDiskSize\": \"49036\"}";
    static const char INSTANCE[] = "{\"ID\": \"i\", \"MainDicomTags\": "
        "{\"SOPInstanceUID\": \"1.2.3\"}, \"ParentSeries\": \"s\"}";
    static const char SERIES[] = "{\"ID\": \"s\", \"MainDicomTags\": "
        "{\"SeriesInstanceUID\": \"1.2\"}, \"ParentStudy\": \"t\"}";
    op_resource_info info;
    apr_int64_t count;

    ck_assert_ptr_null(op_statistics_parse(test_pool, STATS, strlen(STATS), &count));
    ck_assert_int_eq(count, 2);
    ck_assert_ptr_nonnull(op_statistics_parse(test_pool, "{}", 2, &count));
    {
        static const char NEW[] = "{\"Version\":\"1.13.0\",\"HasLabels\":true}";
        static const char OLD[] = "{\"Version\":\"1.10.1\",\"Name\":\"x\"}";
        int labels = -1;
        ck_assert_ptr_null(op_system_parse(test_pool, NEW, strlen(NEW), &labels));
        ck_assert_int_eq(labels, 1);
        ck_assert_ptr_null(op_system_parse(test_pool, OLD, strlen(OLD), &labels));
        ck_assert_int_eq(labels, 0);
        ck_assert_ptr_nonnull(op_system_parse(test_pool, "{}", 2, &labels));
    }
    ck_assert_ptr_null(op_resource_parse(test_pool, INSTANCE, strlen(INSTANCE),
                                         OP_RESOURCE_INSTANCE, &info));
    ck_assert_str_eq(info.parent, "s");
    ck_assert_str_eq(info.uid, "1.2.3");
    ck_assert_ptr_null(op_resource_parse(test_pool, SERIES, strlen(SERIES),
                                         OP_RESOURCE_SERIES, &info));
    ck_assert_str_eq(info.parent, "t");
    ck_assert_str_eq(info.uid, "1.2");
    /* A series answer read as an instance has no ParentSeries. */
    ck_assert_ptr_nonnull(op_resource_parse(test_pool, SERIES, strlen(SERIES),
                                            OP_RESOURCE_INSTANCE, &info));
    ck_assert_ptr_null(op_resource_parse(test_pool, "{}", 2,
                                         OP_RESOURCE_PATIENT, &info));
    ck_assert_ptr_null(info.parent);
    ck_assert_str_eq(op_resource_collection(OP_RESOURCE_STUDY), "studies");
    ck_assert_int_eq(op_resource_level_parse("Patient"), OP_RESOURCE_PATIENT);
    ck_assert_int_eq(op_resource_level_parse(NULL), OP_RESOURCE_UNKNOWN);
}
END_TEST

START_TEST(deletions_show_in_the_counts)
{
    /* Two new instances logged, two more counted: nothing deleted. */
    ck_assert(!op_instances_were_deleted(10, 12, 2));
    /* One deleted while two arrived. */
    ck_assert(op_instances_were_deleted(10, 11, 2));
    /* Stored and deleted between two readings: logged, not counted. */
    ck_assert(op_instances_were_deleted(10, 10, 1));
    ck_assert(op_instances_were_deleted(10, 9, 0));
    ck_assert(!op_instances_were_deleted(10, 10, 0));
}
END_TEST

Suite *orthanc_changes_suite(void)
{
    Suite *s = suite_create("orthanc_changes");
    TCase *tc = pooled_tcase("changes");

    tcase_add_test(tc, reads_the_change_log);
    tcase_add_test(tc, refuses_other_answers);
    tcase_add_test(tc, reads_statistics_and_resources);
    tcase_add_test(tc, deletions_show_in_the_counts);
    suite_add_tcase(s, tc);
    return s;
}
