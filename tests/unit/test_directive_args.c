/* SPDX-License-Identifier: Apache-2.0 */
/* What an administrator writes after OrthancProxy: directive_args.c */
#include <string.h>
#include "unit_tests.h"
#include "directive_args.h"

static const char *prefix_error(const char *prefix)
{
    op_prefix out;
    return op_parse_prefix(test_pool, prefix, &out);
}

START_TEST(prefixes_get_a_trailing_slash)
{
    op_prefix out;
    ck_assert_ptr_null(op_parse_prefix(test_pool, "/orthanc", &out));
    ck_assert_str_eq(out.prefix, "/orthanc/");
    ck_assert_str_eq(out.prefix_bare, "/orthanc");
    ck_assert_int_eq(out.path.segments->nelts, 1);

    ck_assert_ptr_null(op_parse_prefix(test_pool, "/pacs/api/", &out));
    ck_assert_str_eq(out.prefix, "/pacs/api/");
    ck_assert_str_eq(out.prefix_bare, "/pacs/api");

    ck_assert_ptr_null(op_parse_prefix(test_pool, "/", &out));
    ck_assert_str_eq(out.prefix, "/");
    ck_assert_str_eq(out.prefix_bare, "");
}
END_TEST

START_TEST(bad_prefixes_are_named)
{
    ck_assert_ptr_nonnull(strstr(prefix_error("orthanc/"), "must start with '/'"));
    ck_assert_ptr_nonnull(strstr(prefix_error(""), "must start with '/'"));
    ck_assert_ptr_nonnull(strstr(prefix_error("/orth%61nc/"), "contains '%'"));
    ck_assert_ptr_nonnull(strstr(prefix_error("/a b/"), "contains ' '"));
    ck_assert_ptr_nonnull(strstr(prefix_error("/a/../b/"), "write '/b/'"));
    ck_assert_ptr_nonnull(strstr(prefix_error("//orthanc/"), "write '/orthanc/'"));
}
END_TEST

static op_backend backend(const char *url)
{
    op_backend out;
    const char *err = op_parse_backend(test_pool, url, &out);
    ck_assert_msg(err == NULL, "%s: %s", url, err);
    return out;
}

static const char *backend_error(const char *url)
{
    op_backend out;
    const char *err = op_parse_backend(test_pool, url, &out);
    ck_assert_msg(err != NULL, "%s was accepted", url);
    return err;
}

START_TEST(backend_urls_are_normalised)
{
    op_backend b = backend("http://127.0.0.1:8042");
    ck_assert_int_eq(b.kind, OP_BACKEND_HTTP);
    ck_assert_str_eq(b.url, "http://127.0.0.1:8042/");

    b = backend("HTTPS://Orthanc.Example:443/api");
    ck_assert_int_eq(b.kind, OP_BACKEND_HTTPS);
    ck_assert_str_eq(b.url, "https://orthanc.example/api/");

    b = backend("http://[::1]:8042/");
    ck_assert_str_eq(b.url, "http://[::1]:8042/");

    b = backend("balancer://orthancs/");
    ck_assert_int_eq(b.kind, OP_BACKEND_BALANCER);
    ck_assert_str_eq(b.url, "balancer://orthancs/");
}
END_TEST

START_TEST(bad_backend_urls_are_named)
{
    ck_assert_ptr_nonnull(strstr(backend_error("ftp://h/"), "http://, https:// or balancer://"));
    ck_assert_ptr_nonnull(strstr(backend_error("127.0.0.1:8042"), "http://"));
    ck_assert_ptr_nonnull(strstr(backend_error("/orthanc/"), "http://"));
    ck_assert_ptr_nonnull(strstr(backend_error("unix:/run/o.sock|http://x/"), "Unix socket"));
    ck_assert_ptr_nonnull(strstr(backend_error("http://u:p@h/"), "OrthancProxyCredentials"));
    ck_assert_ptr_nonnull(strstr(backend_error("http://h/?a=b"), "query"));
    ck_assert_ptr_nonnull(strstr(backend_error("http://h/#x"), "fragment"));
    ck_assert_ptr_nonnull(strstr(backend_error("http:///x"), "host"));
    ck_assert_ptr_nonnull(strstr(backend_error("http://h:0/"), "port"));
    ck_assert_ptr_nonnull(strstr(backend_error("http://h:80x/"), "port"));
    ck_assert_ptr_nonnull(strstr(backend_error("http://h%2f/"), "host"));
    ck_assert_ptr_nonnull(strstr(backend_error("balancer://b:80/"), "port"));
}
END_TEST

START_TEST(worker_params_must_be_key_value)
{
    ck_assert_ptr_null(op_check_worker_param(test_pool, "timeout=60"));
    ck_assert_ptr_null(op_check_worker_param(test_pool, "disablereuse=on"));
    ck_assert_ptr_nonnull(op_check_worker_param(test_pool, "timeout"));
    ck_assert_ptr_nonnull(op_check_worker_param(test_pool, "=60"));
    ck_assert_ptr_nonnull(op_check_worker_param(test_pool, "a-b=1"));
}
END_TEST

Suite *directive_args_suite(void)
{
    Suite *s = suite_create("directive_args");
    TCase *tc = pooled_tcase("arguments");

    tcase_add_test(tc, prefixes_get_a_trailing_slash);
    tcase_add_test(tc, bad_prefixes_are_named);
    tcase_add_test(tc, backend_urls_are_normalised);
    tcase_add_test(tc, bad_backend_urls_are_named);
    tcase_add_test(tc, worker_params_must_be_key_value);
    suite_add_tcase(s, tc);
    return s;
}
