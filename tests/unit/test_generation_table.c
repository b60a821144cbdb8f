/* SPDX-License-Identifier: Apache-2.0 */
/* The cache's generation counters: generation_table.c */
#include <stdlib.h>
#include <string.h>
#include "unit_tests.h"
#include <apr_strings.h>
#include "generation_table.h"

static op_gen_table *table;

static void make_table(void)
{
    test_pool_setup();
    table = malloc(sizeof(*table));
    ck_assert_ptr_nonnull(table);
    op_gen_init(table, APR_UINT64_C(0x0123456789abcdef));
}

static void free_table(void)
{
    free(table);
    table = NULL;
    test_pool_teardown();
}

static op_scope scope(op_scope_kind kind, const char *id)
{
    op_scope s;
    s.kind = kind;
    s.id = id;
    return s;
}

START_TEST(tokens_name_the_epoch_and_the_counters)
{
    op_scope instance = scope(OP_SCOPE_INSTANCE, "a1b2c3d4-00000000-00000000-"
                              "00000000-00000001");
    op_scope lists = scope(OP_SCOPE_LISTS, NULL);

    ck_assert_str_eq(op_gen_tokens(test_pool, table, &instance),
                     "0123456789abcdef.0.0");
    op_gen_bump(table, &instance);
    op_gen_bump(table, &instance);
    ck_assert_str_eq(op_gen_tokens(test_pool, table, &instance),
                     "0123456789abcdef.0.2");
    ck_assert_str_eq(op_gen_tokens(test_pool, table, &lists),
                     "0123456789abcdef.0.0");
    op_gen_bump_lists(table);
    op_gen_bump_everything(table);
    ck_assert_str_eq(op_gen_tokens(test_pool, table, &lists),
                     "0123456789abcdef.1.1");
    ck_assert_str_eq(op_gen_tokens(test_pool, table, &instance),
                     "0123456789abcdef.1.2");
}
END_TEST

START_TEST(a_bump_changes_its_scope_and_hardly_any_other)
{
    /* 1000 scopes: bumping one changes its own tokens, and those of the
     * few that share its bucket. */
    const char *before[1000];
    op_scope scopes[1000];
    int i, changed = 0;

    for (i = 0; i < 1000; i++) {
        scopes[i] = scope(i % 2 ? OP_SCOPE_UID : OP_SCOPE_SERIES,
                          apr_psprintf(test_pool, "1.2.840.%d", i));
        before[i] = op_gen_tokens(test_pool, table, &scopes[i]);
    }
    op_gen_bump(table, &scopes[500]);
    for (i = 0; i < 1000; i++) {
        if (strcmp(before[i], op_gen_tokens(test_pool, table, &scopes[i]))) {
            changed++;
        }
    }
    ck_assert_str_ne(before[500], op_gen_tokens(test_pool, table,
                                                &scopes[500]));
    ck_assert_int_le(changed, 3);
}
END_TEST

START_TEST(the_same_id_of_another_kind_is_another_scope)
{
    op_scope series = scope(OP_SCOPE_SERIES, "1.2.3");
    op_scope uid = scope(OP_SCOPE_UID, "1.2.3");

    ck_assert_uint_ne(op_gen_bucket(&series), op_gen_bucket(&uid));
    ck_assert_uint_lt(op_gen_bucket(&series), OP_GEN_BUCKETS);
}
END_TEST

START_TEST(buckets_spread)
{
    /* 16384 similar IDs (Orthanc's, one digit apart) over 16384 buckets:
     * no bucket holds many. */
    static unsigned short count[OP_GEN_BUCKETS];
    int i, most = 0;

    memset(count, 0, sizeof(count));
    for (i = 0; i < OP_GEN_BUCKETS; i++) {
        op_scope s = scope(OP_SCOPE_INSTANCE, apr_psprintf(
            test_pool, "6e2c0ec2-5d99c8ca-0ff12c09-48e7e5cc-%08x", i));
        unsigned b = op_gen_bucket(&s);
        if (++count[b] > most) {
            most = count[b];
        }
    }
    ck_assert_int_le(most, 10);
}
END_TEST

START_TEST(in_step_only_after_a_recent_pass)
{
    apr_time_t now = apr_time_from_sec(1000);

    ck_assert(!op_gen_in_step(table, now, apr_time_from_sec(1)));
    op_gen_mark_synced(table, now - apr_time_from_msec(900));
    ck_assert(op_gen_in_step(table, now, apr_time_from_sec(1)));
    ck_assert(!op_gen_in_step(table, now + apr_time_from_msec(200),
                              apr_time_from_sec(1)));
    op_gen_set_flags(table, OP_GEN_LABELS);
    ck_assert_uint_eq(op_gen_flags(table), OP_GEN_LABELS);
}
END_TEST

Suite *generation_table_suite(void)
{
    Suite *s = suite_create("generation_table");
    TCase *tc = tcase_create("counters");

    tcase_add_checked_fixture(tc, make_table, free_table);
    tcase_add_test(tc, tokens_name_the_epoch_and_the_counters);
    tcase_add_test(tc, a_bump_changes_its_scope_and_hardly_any_other);
    tcase_add_test(tc, the_same_id_of_another_kind_is_another_scope);
    tcase_add_test(tc, buckets_spread);
    tcase_add_test(tc, in_step_only_after_a_recent_pass);
    suite_add_tcase(s, tc);
    return s;
}
