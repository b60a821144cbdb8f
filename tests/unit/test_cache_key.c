/* SPDX-License-Identifier: Apache-2.0 */
/* Cache keys, entity tags, token names: cache_key.c */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"
#include "cache_key.h"

static op_cache_key_parts sample(void)
{
    op_cache_key_parts parts;
    memset(&parts, 0, sizeof(parts));
    parts.tokens = "0123456789abcdef.fedcba9876543210";
    parts.scheme = "https";
    parts.public_host = "pacs.example:8443";
    parts.prefix = "/orthanc";
    parts.path = "/instances/x/preview";
    parts.backend = "http://127.0.0.1:8042/";
    return parts;
}

START_TEST(keys_hold_what_answers_depend_on)
{
    op_cache_key_parts parts = sample();
    const char *base = op_cache_key(test_pool, &parts), *other;

    ck_assert_str_eq(base + 1, "orthanc 0123456789abcdef.fedcba9876543210 "
                     "https://pacs.example:8443/orthanc/instances/x/preview "
                     "http://127.0.0.1:8042/ u- c- a- e-");
    /* Each part changes the key. */
#define CHANGED(field, value) do {                                  \
        parts = sample();                                           \
        parts.field = value;                                        \
        other = op_cache_key(test_pool, &parts);                    \
        ck_assert_msg(strcmp(other, base) != 0, #field);            \
    } while (0)
    CHANGED(tokens, "0123456789abcdef.fedcba9876543211");
    CHANGED(scheme, "http");
    CHANGED(public_host, "other.example:8443");
    CHANGED(prefix, "/pacs");
    CHANGED(path, "/instances/x/rendered");
    CHANGED(query, "");
    CHANGED(backend, "http://127.0.0.1:8043/");
    CHANGED(user, "alice");
    CHANGED(user, "");
    CHANGED(credentials, "proxy");
    CHANGED(accept, "image/jpeg");
    CHANGED(accept_encoding, "gzip");
#undef CHANGED
}
END_TEST

START_TEST(parts_cannot_run_into_each_other)
{
    op_cache_key_parts a = sample(), b = sample();
    const char *key;

    /* A blank in a user name cannot fake the next part. */
    a.user = "alice c=proxy";
    b.user = "alice";
    b.credentials = "proxy";
    ck_assert_str_ne(op_cache_key(test_pool, &a), op_cache_key(test_pool, &b));
    a = sample();
    a.accept = "a\r\nb%20 \x80";
    key = op_cache_key(test_pool, &a);
    ck_assert_ptr_nonnull(strstr(key, " a=a%0D%0Ab%2520%20%80 "));
    ck_assert_ptr_null(strchr(key, '\r'));
}
END_TEST

START_TEST(first_bytes_spread_over_subcaches)
{
    int seen[64] = { 0 }, used = 0, i;

    for (i = 0; i < 4096; i++) {
        char rest[32];
        char first;
        snprintf(rest, sizeof(rest), "http://host/path/%d", i);
        first = op_spread_byte(rest);
        ck_assert(first > 0x20 && first < 0x7F);
        seen[(unsigned char)first & 63]++;
    }
    for (i = 0; i < 64; i++) {
        used += seen[i] > 0;
        /* 64 per subcache on average: none is far off. */
        ck_assert_msg(seen[i] > 20 && seen[i] < 130, "subcache %d: %d", i,
                      seen[i]);
    }
    ck_assert_int_eq(used, 64);
}
END_TEST

START_TEST(etags_and_tokens)
{
    static const unsigned char RANDOM[8] = { 0, 1, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
    const char *etag = op_cache_etag(test_pool, "key");

    ck_assert_int_eq(strlen(etag), 21);
    ck_assert(etag[0] == '"' && etag[20] == '"');
    ck_assert_str_eq(etag, op_cache_etag(test_pool, "key"));
    ck_assert_str_ne(etag, op_cache_etag(test_pool, "kez"));
    ck_assert_str_eq(op_token_text(test_pool, RANDOM), "00017f80abcdefff");
}
END_TEST

START_TEST(own_etags_are_taken_out_of_conditional_headers)
{
    const char *own = op_cache_etag(test_pool, "key");
    const char *orthanc = "\"1-3e7a1c\"";

    /* Only the module's own: nothing is left for Orthanc. */
    ck_assert_ptr_null(op_without_own_etags(test_pool, own));
    ck_assert_ptr_null(op_without_own_etags(
        test_pool, apr_pstrcat(test_pool, "W/", own, " ,", own, NULL)));
    /* Orthanc's own stay, in their order. */
    ck_assert_str_eq(op_without_own_etags(
        test_pool, apr_pstrcat(test_pool, orthanc, ", ", own, NULL)), orthanc);
    ck_assert_str_eq(op_without_own_etags(
        test_pool, apr_pstrcat(test_pool, own, ",W/\"a\", \"b\"", NULL)),
        "W/\"a\", \"b\"");
    /* Unchanged: none of them, "*", or not a list of entity tags. */
    ck_assert_str_eq(op_without_own_etags(test_pool, orthanc), orthanc);
    ck_assert_str_eq(op_without_own_etags(test_pool, "*"), "*");
    ck_assert_str_eq(op_without_own_etags(test_pool, "\"op-12\""), "\"op-12\"");
    ck_assert_str_eq(op_without_own_etags(test_pool, "\"op-0123456789ABCDEF\""),
                     "\"op-0123456789ABCDEF\"");
    ck_assert_str_eq(op_without_own_etags(test_pool, "\"a\" junk"),
                     "\"a\" junk");
    ck_assert_str_eq(op_without_own_etags(test_pool, "\"unclosed"),
                     "\"unclosed");
}
END_TEST

Suite *cache_key_suite(void)
{
    Suite *s = suite_create("cache_key");
    TCase *tc = pooled_tcase("keys");

    tcase_add_test(tc, keys_hold_what_answers_depend_on);
    tcase_add_test(tc, parts_cannot_run_into_each_other);
    tcase_add_test(tc, first_bytes_spread_over_subcaches);
    tcase_add_test(tc, etags_and_tokens);
    tcase_add_test(tc, own_etags_are_taken_out_of_conditional_headers);
    suite_add_tcase(s, tc);
    return s;
}
