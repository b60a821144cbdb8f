/* SPDX-License-Identifier: Apache-2.0 */
/* Writing JSON trees: json_write.c */
#include <string.h>
#include "unit_tests.h"
#include "json_write.h"

static op_json *parse(const char *text)
{
    op_json *value;
    const char *err = op_json_parse(test_pool, text, strlen(text), &value);
    ck_assert_msg(err == NULL, "%s: %s", text, err ? err : "");
    return value;
}

START_TEST(writes_back_what_it_read)
{
    static const char *const TEXTS[] = {
        "null", "true", "false", "-0", "1.5e+3", "\"\"", "[]", "{}",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}",
        "[\"\\\"\\\\\\u0001\\u001f\\u007f\",\"\xc3\xa9\xe2\x82\xac\"]",
        NULL
    };
    int i;
    for (i = 0; TEXTS[i]; i++) {
        apr_size_t len;
        char *out = op_json_write(test_pool, parse(TEXTS[i]), &len);
        ck_assert_str_eq(out, TEXTS[i]);
        ck_assert_uint_eq(len, strlen(TEXTS[i]));
    }
}
END_TEST

START_TEST(normalises_blanks_and_escapes)
{
    ck_assert_str_eq(op_json_write(test_pool, parse(
        " { \"a\" : \"\\/\\n\\u00e9\" ,\n \"b\" : [ 1 , 2 ] } "), NULL),
        "{\"a\":\"/\\u000a\xc3\xa9\",\"b\":[1,2]}");
}
END_TEST

START_TEST(edits_objects)
{
    op_json *o = parse("{\"a\":1,\"b\":2,\"a\":3}");
    ck_assert(op_json_has_repeated_names(o));
    op_json_set(test_pool, o, "a", op_json_new_string(test_pool, "x"));
    ck_assert_str_eq(op_json_write(test_pool, o, NULL), "{\"a\":\"x\",\"b\":2}");
    ck_assert(!op_json_has_repeated_names(o));
    op_json_set(test_pool, o, "c", op_json_new_integer(test_pool, -7));
    op_json_remove(o, "b");
    ck_assert_str_eq(op_json_write(test_pool, o, NULL), "{\"a\":\"x\",\"c\":-7}");
    o = parse("{\"\":1,\"a\":2}");
    op_json_set(test_pool, o, "a", op_json_new(test_pool, OP_JSON_NULL));
    ck_assert_str_eq(op_json_write(test_pool, o, NULL), "{\"\":1,\"a\":null}");
}
END_TEST

START_TEST(finds_repeated_names_at_any_depth)
{
    ck_assert(!op_json_has_repeated_names(parse("{\"a\":{\"b\":1,\"c\":2}}")));
    ck_assert(op_json_has_repeated_names(parse("[{\"a\":{\"b\":1,\"b\":2}}]")));
    ck_assert(!op_json_has_repeated_names(parse("[1,1,\"a\",\"a\"]")));
}
END_TEST

Suite *json_write_suite(void)
{
    Suite *s = suite_create("json_write");
    TCase *tc = pooled_tcase("json_write");
    tcase_add_test(tc, writes_back_what_it_read);
    tcase_add_test(tc, normalises_blanks_and_escapes);
    tcase_add_test(tc, edits_objects);
    tcase_add_test(tc, finds_repeated_names_at_any_depth);
    suite_add_tcase(s, tc);
    return s;
}
