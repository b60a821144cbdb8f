/* SPDX-License-Identifier: Apache-2.0 */
/* Forwarding and identity headers: forward_headers.c */
#include <string.h>
#include "unit_tests.h"
#include "forward_headers.h"

START_TEST(plain_hosts_are_recognised)
{
    ck_assert(op_host_is_plain("pacs.example"));
    ck_assert(op_host_is_plain("127.0.0.1:8080"));
    ck_assert(op_host_is_plain("[::1]:8443"));
    ck_assert(!op_host_is_plain(""));
    ck_assert(!op_host_is_plain(NULL));
    ck_assert(!op_host_is_plain("a\"b"));
    ck_assert(!op_host_is_plain("a;host=evil"));
    ck_assert(!op_host_is_plain("a b"));
    ck_assert(!op_host_is_plain("a/b"));
}
END_TEST

START_TEST(header_values_cannot_split_lines)
{
    ck_assert(op_header_value_is_safe("alice"));
    ck_assert(op_header_value_is_safe("Dr\tAlice"));
    ck_assert(!op_header_value_is_safe("alice\r\nX-Admin: 1"));
    ck_assert(!op_header_value_is_safe("alice\n"));
    ck_assert(!op_header_value_is_safe("a\x7f"));
    ck_assert(!op_header_value_is_safe(NULL));
}
END_TEST

START_TEST(forwarded_carries_the_public_prefix_unquoted)
{
    ck_assert_str_eq(op_forwarded_value(test_pool, "10.1.2.3", "pacs.example",
                                        "/orthanc", "https"),
                     "for=10.1.2.3;host=pacs.example/orthanc;proto=https");
    ck_assert_str_eq(op_forwarded_value(test_pool, "::1", "127.0.0.1:8080",
                                        "", "http"),
                     "for=\"[::1]\";host=127.0.0.1:8080;proto=http");
}
END_TEST

START_TEST(backend_urls_map_back_under_the_prefix)
{
    const char *backend = "http://127.0.0.1:8042/";
    const char *public_url = "https://pacs.example/orthanc/";

    ck_assert_str_eq(op_reverse_map_url(test_pool,
                         "http://127.0.0.1:8042/app/explorer.html", backend,
                         public_url),
                     "https://pacs.example/orthanc/app/explorer.html");
    ck_assert_str_eq(op_reverse_map_url(test_pool, "HTTP://127.0.0.1:8042/x",
                                        backend, public_url),
                     "https://pacs.example/orthanc/x");
    ck_assert_str_eq(op_reverse_map_url(test_pool, "app/explorer.html",
                                        backend, public_url),
                     "app/explorer.html");
    ck_assert_str_eq(op_reverse_map_url(test_pool, "http://127.0.0.1:80421/x",
                                        backend, public_url),
                     "http://127.0.0.1:80421/x");
    ck_assert_str_eq(op_reverse_map_url(test_pool, "http://other/x",
                                        backend, public_url),
                     "http://other/x");
    ck_assert_str_eq(op_reverse_map_url(test_pool, "http://h/api",
                                        "http://h/api/", public_url),
                     public_url);
    ck_assert_str_eq(op_reverse_map_url(test_pool, "http://h/API/x",
                                        "http://h/api/", public_url),
                     "http://h/API/x");
}
END_TEST

START_TEST(basic_credentials_are_encoded)
{
    ck_assert_str_eq(op_basic_authorization(test_pool, "orthanc", "orthanc"),
                     "Basic b3J0aGFuYzpvcnRoYW5j");
}
END_TEST

Suite *forward_headers_suite(void)
{
    Suite *s = suite_create("forward_headers");
    TCase *tc = pooled_tcase("headers");

    tcase_add_test(tc, plain_hosts_are_recognised);
    tcase_add_test(tc, header_values_cannot_split_lines);
    tcase_add_test(tc, forwarded_carries_the_public_prefix_unquoted);
    tcase_add_test(tc, backend_urls_map_back_under_the_prefix);
    tcase_add_test(tc, basic_credentials_are_encoded);
    suite_add_tcase(s, tc);
    return s;
}
