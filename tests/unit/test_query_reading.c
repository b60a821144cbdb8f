/* SPDX-License-Identifier: Apache-2.0 */
/* A query string as each Orthanc release reads it: query_reading.c */
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"
#include "query_reading.h"

#define AS_SENT 0
#define CIVETWEB OP_QUERY_CIVETWEB_DECODES
#define ORTHANC_1_9 OP_QUERY_ORTHANC_DECODES
#define BOTH (OP_QUERY_CIVETWEB_DECODES | OP_QUERY_ORTHANC_DECODES)

/* "name=value|name=value" of the arguments of QUERY under READING. */
static const char *arguments(const char *query, int reading)
{
    apr_array_header_t *found = op_query_arguments(test_pool, query, reading);
    char *out = "";
    int i;

    for (i = 0; i < found->nelts; i++) {
        const op_query_argument *a = &APR_ARRAY_IDX(found, i, op_query_argument);
        out = apr_pstrcat(test_pool, out, i ? "|" : "", a->name, "=",
                          a->value, NULL);
    }
    return out;
}

START_TEST(civetweb_decoding_is_reproduced)
{
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "%5Fmethod", 9), "_method");
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "a+b", 3), "a b");
    /* Only hexadecimal digits make an escape; the rest stays. */
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "%4Vx", 4), "%4Vx");
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "%4", 2), "%4");
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "%", 1), "%");
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "%2b", 3), "+");
    /* A decoded NUL ends the C string Orthanc is given. */
    ck_assert_str_eq(op_civetweb_query_decode(test_pool, "a%00&_method=x", 14), "a");
}
END_TEST

static const char *orthanc_decode(const char *text)
{
    apr_size_t length;
    return op_orthanc_query_decode(test_pool, text, strlen(text), &length);
}

START_TEST(orthanc_1_9_decoding_is_reproduced)
{
    apr_size_t length;
    ck_assert_str_eq(orthanc_decode("%5Fmethod"), "_method");
    ck_assert_str_eq(orthanc_decode("a+b"), "a b");
    /* Orthanc's decoder accepts letters beyond f: %4V is '_' for it, and
     * reads lower-case ones beyond f as upper-case: %4v is 0x7f. */
    ck_assert_str_eq(orthanc_decode("%4Vmethod"), "_method");
    ck_assert_str_eq(orthanc_decode("%4v"), "\x7f");
    ck_assert_str_eq(orthanc_decode("%4"), "%4");
    ck_assert_str_eq(orthanc_decode("%41"), "A");
    /* Its std::string keeps a decoded NUL. */
    ck_assert_mem_eq(op_orthanc_query_decode(test_pool, "_method%00x", 11,
                                             &length), "_method\0x", 9);
    ck_assert_uint_eq(length, 9);
}
END_TEST

START_TEST(an_encoded_ampersand_splits_only_where_civetweb_decodes)
{
    const char *q = "x=%26_method%3DDELETE";
    ck_assert_str_eq(arguments(q, AS_SENT), "x=%26_method%3DDELETE");
    ck_assert_str_eq(arguments(q, ORTHANC_1_9), "x=&_method=DELETE");
    ck_assert_str_eq(arguments(q, CIVETWEB), "x=|_method=DELETE");
    ck_assert_str_eq(arguments(q, BOTH), "x=|_method=DELETE");

    q = "_method%3Ddelete";
    ck_assert_str_eq(arguments(q, AS_SENT), "_method%3Ddelete=");
    ck_assert_str_eq(arguments(q, CIVETWEB), "_method=delete");
}
END_TEST

START_TEST(plain_queries_read_alike)
{
    const char *q = "PatientName=Doe^J*&limit=10&expand";
    int reading;
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        ck_assert_str_eq(arguments(q, reading),
                         "PatientName=Doe^J*|limit=10|expand=");
    }
    ck_assert_str_eq(arguments("", AS_SENT), "=");
    ck_assert_str_eq(arguments("a=b=c", CIVETWEB), "a=b=c");
}
END_TEST

START_TEST(decoding_twice_is_modelled)
{
    /* civetweb 1.14 decoded, then Orthanc <= 1.9.7 decoded again. */
    ck_assert_str_eq(arguments("%255Fmethod=put", BOTH), "_method=put");
    ck_assert_str_eq(arguments("%255Fmethod=put", CIVETWEB), "%5Fmethod=put");
    ck_assert_str_eq(arguments("a=1+2", AS_SENT), "a=1+2");
    ck_assert_str_eq(arguments("a=1+2", CIVETWEB), "a=1 2");
}
END_TEST

START_TEST(every_reading_names_its_releases)
{
    int reading;
    for (reading = 0; reading < OP_QUERY_READINGS; reading++) {
        ck_assert_ptr_nonnull(strstr(op_query_reading_releases(reading),
                                     "Orthanc"));
    }
    ck_assert_ptr_nonnull(strstr(op_query_reading_releases(AS_SENT), "1.10.1"));
    ck_assert_ptr_nonnull(strstr(op_query_reading_releases(CIVETWEB), "1.12.10"));
}
END_TEST

Suite *query_reading_suite(void)
{
    Suite *s = suite_create("query_reading");
    TCase *tc = pooled_tcase("readings");

    tcase_add_test(tc, civetweb_decoding_is_reproduced);
    tcase_add_test(tc, orthanc_1_9_decoding_is_reproduced);
    tcase_add_test(tc, an_encoded_ampersand_splits_only_where_civetweb_decodes);
    tcase_add_test(tc, plain_queries_read_alike);
    tcase_add_test(tc, decoding_twice_is_modelled);
    tcase_add_test(tc, every_reading_names_its_releases);
    suite_add_tcase(s, tc);
    return s;
}
