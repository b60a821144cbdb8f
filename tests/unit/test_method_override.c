/* SPDX-License-Identifier: Apache-2.0 */
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

    r = resolve("GET", "a=1&_method=Put&b=2", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "PUT");
    ck_assert_str_eq(r.query, "a=1&b=2");
}
END_TEST

/* An override that some releases read and others do not is refused: the
 * proxy cannot forward one request that means the same to all of them. */
START_TEST(overrides_read_by_some_releases_only_are_refused)
{
    const char *const queries[] = {
        /* civetweb 1.14, or 1.15+ with decode_query_string (Orthanc
         * >= 1.12.10), decodes before Orthanc splits. */
        "x=%26_method%3DDELETE",
        "_method%3Ddelete",
        "%5Fmethod=delete",
        "_method=del%65te",
        "_method=delete+",
        /* Orthanc <= 1.9.7 decoded names itself, with letters beyond f. */
        "%4Vmethod=delete",
        "_me%4khod=delete",
        /* Decoded twice by civetweb 1.14 and Orthanc <= 1.9.7. */
        "%255Fmethod=put",
        /* A decoded NUL ends the string where civetweb decodes. */
        "x=%00&_method=delete",
    };
    size_t i;

    for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        resolution r = resolve("GET", queries[i], NULL, NULL);
        ck_assert_msg(r.error != NULL, "%s was accepted as %s", queries[i],
                      r.effective);
    }
    ck_assert_ptr_nonnull(strstr(resolve("GET", "x=%26_method%3DDELETE", NULL,
                                         NULL).error, "1.12.10"));
}
END_TEST

/* HEAD is forwarded as GET (forwarding.c) and other methods may carry
 * anything in their query: what is forwarded never hides an override. */
START_TEST(hidden_overrides_are_refused_on_every_method)
{
    const char *const methods[] = { "HEAD", "POST", "PUT", "DELETE", "GET" };
    size_t i;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        resolution r = resolve(methods[i], "x=%26_method%3DDELETE", NULL, NULL);
        ck_assert_msg(r.error != NULL, "%s passed", methods[i]);
    }
    /* An argument some release names _method is dropped where Orthanc
     * would not read it (a GET is refused above: releases disagree). */
    {
        resolution r = resolve("HEAD", "a=%26x&_method%3Dput", NULL, NULL);
        ck_assert_ptr_null(r.error);
        ck_assert_str_eq(r.query, "a=%26x");
        ck_assert_ptr_nonnull(resolve("GET", "a=%26x&_method%3Dput", NULL,
                                      NULL).error);
    }
    /* A header override does not make a hidden one harmless to check. */
    ck_assert_ptr_nonnull(resolve("GET", "x=%26_method%3DPUT",
                                  "X-HTTP-Method-Override", "DELETE").error);
}
END_TEST

/* Encoded characters that cannot make an override keep the query as sent:
 * no re-encoding reads alike on every release (a '%41' is "A" on some and
 * "%41" on others), and the proxy decides on none of them. */
START_TEST(harmless_escapes_are_forwarded_as_sent)
{
    const char *query = "PatientName=Doe%5EJ*&StudyDate=2020%2D2021&q=a+b";
    resolution r = resolve("GET", query, NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "GET");
    ck_assert_ptr_eq(r.query, query);
}
END_TEST

START_TEST(query_overrides_are_dropped_where_orthanc_ignores_them)
{
    resolution r = resolve("POST", "_method=delete&x=1", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "POST");
    ck_assert_str_eq(r.query, "x=1");

    /* Every spelling some release reads as _method goes. */
    r = resolve("POST", "%5Fmethod=delete&x=1&_me%4khod=put", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.query, "x=1");

    /* HEAD is forwarded as GET: the argument must not reach Orthanc. */
    r = resolve("HEAD", "_method=delete", NULL, NULL);
    ck_assert_ptr_null(r.error);
    ck_assert_str_eq(r.effective, "HEAD");
    ck_assert_str_eq(r.query, "");
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

    tcase_add_test(tc, plain_requests_keep_their_method_and_query);
    tcase_add_test(tc, query_overrides_turn_a_get_into_delete);
    tcase_add_test(tc, overrides_read_by_some_releases_only_are_refused);
    tcase_add_test(tc, hidden_overrides_are_refused_on_every_method);
    tcase_add_test(tc, harmless_escapes_are_forwarded_as_sent);
    tcase_add_test(tc, query_overrides_are_dropped_where_orthanc_ignores_them);
    tcase_add_test(tc, header_overrides_apply_to_every_method);
    tcase_add_test(tc, overrides_orthanc_would_reject_are_refused);
    tcase_add_test(tc, two_override_headers_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
