/* SPDX-License-Identifier: Apache-2.0 */
/* The follower's place in the change log: change_cursor.c */
#include <string.h>
#include "unit_tests.h"
#include "change_cursor.h"

#define T(s) apr_time_from_sec(s)

static op_change_cursor cursor;

static op_entry_verdict take(apr_int64_t seq, apr_time_t now, int *opened)
{
    int given_up = 0;
    *opened = 0;
    return op_cursor_take(&cursor, seq, now, opened, &given_up);
}

START_TEST(entries_in_order_are_applied_once)
{
    int opened;

    op_cursor_start(&cursor, 100);
    ck_assert_int_eq(take(99, T(1), &opened), OP_ENTRY_SEEN);
    ck_assert_int_eq(take(100, T(1), &opened), OP_ENTRY_SEEN);
    ck_assert_int_eq(take(101, T(1), &opened), OP_ENTRY_NEW);
    ck_assert(!opened);
    ck_assert_int_eq(take(102, T(1), &opened), OP_ENTRY_NEW);
    ck_assert_int_eq(take(102, T(1), &opened), OP_ENTRY_SEEN);
    ck_assert_int_eq(op_cursor_read_from(&cursor), 102);
}
END_TEST

START_TEST(a_change_committed_late_is_applied_when_it_comes)
{
    int opened;

    /* 101 is not committed when 102 is read. */
    op_cursor_start(&cursor, 100);
    ck_assert_int_eq(take(102, T(1), &opened), OP_ENTRY_NEW);
    ck_assert(opened);
    ck_assert_int_eq(cursor.n_open, 1);
    /* The next reading starts before the hole ... */
    ck_assert_int_eq(op_cursor_read_from(&cursor), 100);
    ck_assert_int_eq(take(103, T(2), &opened), OP_ENTRY_NEW);
    /* ... and finds 101, then 102 and 103 again. */
    ck_assert_int_eq(take(101, T(3), &opened), OP_ENTRY_LATE);
    ck_assert_int_eq(take(102, T(3), &opened), OP_ENTRY_SEEN);
    ck_assert_int_eq(take(103, T(3), &opened), OP_ENTRY_SEEN);
    ck_assert_int_eq(cursor.n_open, 0);
    ck_assert_int_eq(op_cursor_read_from(&cursor), 103);
    /* Never twice. */
    ck_assert_int_eq(take(101, T(4), &opened), OP_ENTRY_SEEN);
}
END_TEST

START_TEST(removed_entries_are_given_up_after_the_grace)
{
    int opened;

    op_cursor_start(&cursor, 10);
    ck_assert_int_eq(take(14, T(1), &opened), OP_ENTRY_NEW);
    ck_assert_int_eq(cursor.n_open, 3);
    ck_assert_int_eq(op_cursor_expire(&cursor, T(5), T(10)), 0);
    ck_assert_int_eq(op_cursor_read_from(&cursor), 10);
    ck_assert_int_eq(op_cursor_expire(&cursor, T(12), T(10)), 3);
    ck_assert_int_eq(op_cursor_read_from(&cursor), 14);
}
END_TEST

START_TEST(the_end_of_the_log_shows_removed_entries)
{
    int given_up = 0;

    op_cursor_start(&cursor, 20);
    /* Nothing new. */
    ck_assert_int_eq(op_cursor_end(&cursor, 20, T(1), &given_up), 0);
    /* 21 and 22 stored and deleted since: only "Last" shows them. */
    ck_assert_int_eq(op_cursor_end(&cursor, 22, T(1), &given_up), 1);
    ck_assert_int_eq(cursor.high, 22);
    ck_assert_int_eq(cursor.n_open, 2);
    ck_assert_int_eq(op_cursor_read_from(&cursor), 20);
    /* The log went back: another database, or cleared. */
    ck_assert_int_eq(op_cursor_end(&cursor, 5, T(2), &given_up), -1);
}
END_TEST

START_TEST(too_many_holes_give_the_oldest_up)
{
    int opened, given_up = 0;

    op_cursor_start(&cursor, 0);
    ck_assert_int_eq(op_cursor_take(&cursor, 1000, T(1), &opened, &given_up),
                     OP_ENTRY_NEW);
    ck_assert_int_eq(cursor.n_open, OP_CURSOR_MAX_OPEN);
    ck_assert_int_eq(given_up, 999 - OP_CURSOR_MAX_OPEN);
    ck_assert_int_eq(cursor.open_seq[0], 1000 - OP_CURSOR_MAX_OPEN);
    ck_assert_int_eq(op_cursor_read_from(&cursor), 999 - OP_CURSOR_MAX_OPEN);
    /* A late entry in the middle, then one more hole at the top. */
    ck_assert_int_eq(take(950, T(2), &opened), OP_ENTRY_LATE);
    ck_assert_int_eq(cursor.n_open, OP_CURSOR_MAX_OPEN - 1);
    given_up = 0;
    ck_assert_int_eq(op_cursor_take(&cursor, 1003, T(2), &opened, &given_up),
                     OP_ENTRY_NEW);
    ck_assert_int_eq(cursor.n_open, OP_CURSOR_MAX_OPEN);
    ck_assert_int_eq(given_up, 1);
}
END_TEST

Suite *change_cursor_suite(void)
{
    Suite *s = suite_create("change_cursor");
    TCase *tc = pooled_tcase("cursor");

    tcase_add_test(tc, entries_in_order_are_applied_once);
    tcase_add_test(tc, a_change_committed_late_is_applied_when_it_comes);
    tcase_add_test(tc, removed_entries_are_given_up_after_the_grace);
    tcase_add_test(tc, the_end_of_the_log_shows_removed_entries);
    tcase_add_test(tc, too_many_holes_give_the_oldest_up);
    suite_add_tcase(s, tc);
    return s;
}
