/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON reader: json_read.c */
#include <string.h>
#include "unit_tests.h"
#include "json_read.h"

static const op_json *parse_ok(const char *text)
{
    op_json *value;
    const char *err = op_json_parse(test_pool, text, strlen(text), &value);
    ck_assert_msg(err == NULL, "%s: %s", text, err ? err : "");
    return value;
}

static void parse_fails(const char *text, apr_size_t len)
{
    op_json *value;
    ck_assert_msg(op_json_parse(test_pool, text, len, &value) != NULL,
                  "accepted: %s", text);
    ck_assert_ptr_null(value);
}

START_TEST(reads_orthanc_answers)
{
    const op_json *root = parse_ok(
        "{ \"Changes\" : [ { \"ChangeType\" : \"NewInstance\", \"Seq\" : 1 } ],\n"
        "  \"Done\" : true, \"Last\" : 12, \"TotalDiskSize\" : \"49036\" }\n");
    const op_json *changes = op_json_member(root, "Changes");
    apr_int64_t n;

    ck_assert_int_eq(changes->type, OP_JSON_ARRAY);
    ck_assert_int_eq(changes->items->nelts, 1);
    ck_assert_str_eq(op_json_string_member(APR_ARRAY_IDX(changes->items, 0,
                                                         const op_json *),
                                           "ChangeType"), "NewInstance");
    ck_assert_int_eq(op_json_member(root, "Done")->type, OP_JSON_TRUE);
    ck_assert(op_json_integer_member(root, "Last", &n));
    ck_assert_int_eq(n, 12);
    /* Orthanc writes sizes as strings of digits. */
    ck_assert(op_json_integer_member(root, "TotalDiskSize", &n));
    ck_assert_int_eq(n, 49036);
    ck_assert_ptr_null(op_json_member(root, "Missing"));
    ck_assert_ptr_null(op_json_string_member(root, "Last"));
    ck_assert(!op_json_integer_member(root, "Changes", &n));
}
END_TEST

START_TEST(reads_every_kind_of_value)
{
    const op_json *root = parse_ok("[null, false, true, -0, 1.5e+3, \"\", {}, []]");
    static const op_json_type TYPES[] = {
        OP_JSON_NULL, OP_JSON_FALSE, OP_JSON_TRUE, OP_JSON_NUMBER,
        OP_JSON_NUMBER, OP_JSON_STRING, OP_JSON_OBJECT, OP_JSON_ARRAY
    };
    int i;

    ck_assert_int_eq(root->items->nelts, 8);
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(APR_ARRAY_IDX(root->items, i, const op_json *)->type,
                         TYPES[i]);
    }
    ck_assert_str_eq(APR_ARRAY_IDX(root->items, 4, const op_json *)->text,
                     "1.5e+3");
}
END_TEST

START_TEST(decodes_strings)
{
    const op_json *s = parse_ok("\"a\\\"b\\\\c\\/d\\n\\u00e9\\u20ac\\ud83d\\ude00\"");
    ck_assert_str_eq(s->text, "a\"b\\c/d\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(integers_are_whole_numbers)
{
    const op_json *root = parse_ok(
        "{\"a\": 1.5, \"b\": \"12x\", \"c\": -3, \"d\": \"\", "
        "\"e\": 99999999999999999999999}");
    apr_int64_t n;

    ck_assert(!op_json_integer_member(root, "a", &n));
    ck_assert(!op_json_integer_member(root, "b", &n));
    ck_assert(op_json_integer_member(root, "c", &n));
    ck_assert_int_eq(n, -3);
    ck_assert(!op_json_integer_member(root, "d", &n));
    ck_assert(!op_json_integer_member(root, "e", &n));
}
END_TEST

START_TEST(refuses_what_is_not_json)
{
    char deep[2 * OP_JSON_MAX_DEPTH + 10];

    parse_fails("", 0);
    parse_fails("{", 1);
    parse_fails("[1,]", 4);
    parse_fails("{\"a\":1,}", 8);
    parse_fails("01", 2);
    parse_fails("1.", 2);
    parse_fails("-", 1);
    parse_fails("tru", 3);
    parse_fails("\"abc", 4);
    parse_fails("\"a\\x\"", 5);
    parse_fails("\"\\u0000\"", 8);           /* an escaped NUL */
    parse_fails("\"\\ud800\"", 8);           /* a lone surrogate */
    parse_fails("\"\\udc00\\ud800\"", 14);
    parse_fails("\"a\tb\"", 5);              /* a raw control character */
    parse_fails("[1] [2]", 7);
    parse_fails("// comment\n1", 12);
    parse_fails("[1\0]", 4);                 /* a NUL byte in the text */
    memset(deep, '[', sizeof(deep));
    parse_fails(deep, sizeof(deep));
}
END_TEST

Suite *json_read_suite(void)
{
    Suite *s = suite_create("json_read");
    TCase *tc = pooled_tcase("reading");

    tcase_add_test(tc, reads_orthanc_answers);
    tcase_add_test(tc, reads_every_kind_of_value);
    tcase_add_test(tc, decodes_strings);
    tcase_add_test(tc, integers_are_whole_numbers);
    tcase_add_test(tc, refuses_what_is_not_json);
    suite_add_tcase(s, tc);
    return s;
}
