/* The method Orthanc will execute: method_override.c */
#include <string.h>
#include <apr_tables.h>
#include "unit_tests.h"
#include "method_override.h"

typedef struct {
    const char *effective;
    const char *query;
    const char *error;
} resolution;

static resolution resolve(const char *method, const char *query,
                          const char *header_name, const char *header_value)
{
    apr_table_t *headers = apr_table_make(test_pool, 4);
    resolution out;

    if (header_name) {
        apr_table_add(headers, header_name, header_value);
    }
    out.error = op_resolve_method(test_pool, method, headers, query,
                                  &out.effective, &out.query);
    return out;
}

START_TEST(orthanc_query_decoding_is_reproduced)
{
    ck_assert_str_eq(op_orthanc_query_decode(test_pool, "%5Fmethod", 9), "_method");
    ck_assert_str_eq(op_orthanc_query_decode(test_pool, "a+b", 3), "a b");
    /* Orthanc's decoder accepts letters beyond f: %4V is '_' for it, and
     * reads lower-case ones beyond f as upper-case: %4v is 0x7f. */
    ck_assert_str_eq(op_orthanc_query_decode(test_pool, "%4Vmethod", 9), "_method");
    ck_assert_str_eq(op_orthanc_query_decode(test_pool, "%4v", 3), "\x7f");
    ck_assert_str_eq(op_orthanc_query_decode(test_pool, "%4", 2), "%4");
    ck_assert_str_eq(op_orthanc_query_decode(test_pool, "%41", 3), "A");
}
END_TEST

START_TEST(plain_requests_keep_their_method_and_query)
{
    const char *query = "PatientName=Doe^J*&limit=10";
    resolution r = resolve("GET", query, NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "GET");
    ck_assert_ptr_eq(r.query, query);

    r = resolve("POST", NULL, "Content-Type", "application/json");
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "POST");
    ck_assert_ptr_null(r.query);
}
END_TEST

START_TEST(query_overrides_turn_a_get_into_delete)
{
    resolution r = resolve("GET", "_method=delete", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "DELETE");
    ck_assert_str_eq(r.query, "");

    r = resolve("GET", "a=1&%5Fmethod=Put&b=2", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "PUT");
    ck_assert_str_eq(r.query, "a=1&b=2");

    r = resolve("GET", "%4Vmethod=delete", NULL, NULL);
    ck_assert_str_eq(r.effective, "DELETE");

    /* Orthanc up to 1.9.7 read %4k as 't'. */
    r = resolve("GET", "_me%4khod=delete", NULL, NULL);
    ck_assert_str_eq(r.effective, "DELETE");
    ck_assert_str_eq(r.query, "");
}
END_TEST

START_TEST(query_overrides_are_dropped_where_orthanc_ignores_them)
{
    resolution r = resolve("POST", "_method=delete&x=1", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "POST");
    ck_assert_str_eq(r.query, "x=1");
}
END_TEST

START_TEST(header_overrides_apply_to_every_method)
{
    resolution r = resolve("POST", NULL, "X-HTTP-Method-Override", "DELETE");
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "DELETE");

    r = resolve("GET", NULL, "x-http-method-override", "put");
    ck_assert_str_eq(r.effective, "PUT");

    r = resolve("OPTIONS", NULL, "X_HTTP_Method_Override", "delete");
    ck_assert_str_eq(r.effective, "DELETE");

    r = resolve("GET", NULL, "X-HTTP-Method-Override ", "DELETE");
    ck_assert_str_eq(r.effective, "DELETE");
}
END_TEST

START_TEST(overrides_orthanc_would_reject_are_refused)
{
    ck_assert_ptr_nonnull(resolve("GET", "_method=patch", NULL, NULL).error);
    ck_assert_ptr_nonnull(resolve("GET", "_method=del%65te", NULL, NULL).error);
    ck_assert_ptr_nonnull(resolve("GET", "_method=+delete", NULL, NULL).error);
    ck_assert_ptr_nonnull(resolve("GET", "_method=", NULL, NULL).error);
    ck_assert_ptr_nonnull(resolve("GET", "_method", NULL, NULL).error);
    ck_assert_ptr_nonnull(resolve("POST", NULL, "X-HTTP-Method-Override", "GET").error);
    ck_assert_ptr_nonnull(resolve("GET", "_method=delete&_method=put", NULL, NULL).error);
    ck_assert_ptr_nonnull(resolve("GET", NULL, "X-HTTP-Method-Override", "DELETE, PUT").error);
    ck_assert_ptr_nonnull(strstr(resolve("GET", NULL, "X-HTTP-Method", "DELETE").error,
                                 "X-HTTP-Method"));
    ck_assert_ptr_nonnull(resolve("GET", NULL, "X-Method-Override", "DELETE").error);
}
END_TEST

START_TEST(two_override_headers_are_refused)
{
    apr_table_t *headers = apr_table_make(test_pool, 4);
    const char *effective, *query;
    apr_table_add(headers, "X-HTTP-Method-Override", "DELETE");
    apr_table_add(headers, "x-http-method-override", "PUT");
    ck_assert_ptr_nonnull(op_resolve_method(test_pool, "GET", headers, NULL,
                                            &effective, &query));
}
END_TEST

Suite *method_override_suite(void)
{
    Suite *s = suite_create("method_override");
    TCase *tc = pooled_tcase("effective method");

    tcase_add_test(tc, orthanc_query_decoding_is_reproduced);
    tcase_add_test(tc, plain_requests_keep_their_method_and_query);
    tcase_add_test(tc, query_overrides_turn_a_get_into_delete);
    tcase_add_test(tc, query_overrides_are_dropped_where_orthanc_ignores_them);
    tcase_add_test(tc, header_overrides_apply_to_every_method);
    tcase_add_test(tc, overrides_orthanc_would_reject_are_refused);
    tcase_add_test(tc, two_override_headers_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
