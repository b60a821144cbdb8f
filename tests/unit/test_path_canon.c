/* SPDX-License-Identifier: Apache-2.0 */
/* Orthanc's reading of a path: path_canon.c */
#include <string.h>
#include "unit_tests.h"
#include "path_canon.h"

/* Canonical decoded and encoded forms of RAW, or the parse status. */
static op_path_status canon(const char *raw, const char **decoded,
                            const char **encoded)
{
    op_path path;
    op_path_status status = op_path_parse(test_pool, raw, strlen(raw), &path);
    if (status == OP_PATH_OK) {
        *decoded = op_path_join(test_pool, &path, 0, OP_PATH_DECODED);
        *encoded = op_path_join(test_pool, &path, 0, OP_PATH_ENCODED);
    }
    return status;
}

static void assert_canon(const char *raw, const char *decoded,
                         const char *encoded)
{
    const char *d = NULL, *e = NULL;
    ck_assert_msg(canon(raw, &d, &e) == OP_PATH_OK, "%s was refused", raw);
    ck_assert_str_eq(d, decoded);
    ck_assert_str_eq(e, encoded);
}

static void assert_refused(const char *raw, op_path_status expected)
{
    const char *d, *e;
    ck_assert_int_eq(canon(raw, &d, &e), expected);
}

START_TEST(plain_paths_stay_as_they_are)
{
    assert_canon("/", "/", "/");
    assert_canon("/patients", "/patients", "/patients");
    assert_canon("/patients/", "/patients/", "/patients/");
    assert_canon("/instances/1a2b-3c/file", "/instances/1a2b-3c/file",
                 "/instances/1a2b-3c/file");
}
END_TEST

START_TEST(separators_collapse_like_orthanc)
{
    assert_canon("//tools//execute-script", "/tools/execute-script",
                 "/tools/execute-script");
    assert_canon("/tools\\execute-script", "/tools/execute-script",
                 "/tools/execute-script");
    assert_canon("/tools%5cexecute-script", "/tools/execute-script",
                 "/tools/execute-script");
    assert_canon("/tools%2Fexecute-script", "/tools/execute-script",
                 "/tools/execute-script");
    assert_canon("/tools%2fexecute-script", "/tools/execute-script",
                 "/tools/execute-script");
}
END_TEST

START_TEST(dot_segments_are_resolved)
{
    assert_canon("/./tools/./reset", "/tools/reset", "/tools/reset");
    assert_canon("/patients/../tools/reset", "/tools/reset", "/tools/reset");
    assert_canon("/patients/%2e%2e/tools/reset", "/tools/reset", "/tools/reset");
    assert_canon("/patients/%2E./tools/reset", "/tools/reset", "/tools/reset");
    assert_canon("/a/b/..", "/a/", "/a/");
    assert_canon("/a/.", "/a/", "/a/");
}
END_TEST

START_TEST(dot_dot_stops_at_the_root)
{
    assert_canon("/../../tools/shutdown", "/tools/shutdown", "/tools/shutdown");
    assert_canon("/..", "/", "/");
}
END_TEST

/* civetweb strips the dots that end a segment and drops segments made
 * only of dots: these reach the routes without the dots (issue 6). */
START_TEST(trailing_dots_are_stripped_like_civetweb)
{
    assert_canon("/system.", "/system", "/system");
    assert_canon("/tools./now", "/tools/now", "/tools/now");
    assert_canon("/tools/.../now", "/tools/now", "/tools/now");
    assert_canon("/tools/now%2e", "/tools/now", "/tools/now");
    assert_canon("/tools/log-level%2E%2e.", "/tools/log-level",
                 "/tools/log-level");
    assert_canon("/patients./1/", "/patients/1/", "/patients/1/");
    assert_canon("/a/...", "/a/", "/a/");
    assert_canon("/...", "/", "/");
    assert_canon("/a./b..", "/a/b", "/a/b");
    /* Only the dots at the end go. */
    assert_canon("/.a/a.b/..c", "/.a/a.b/..c", "/.a/a.b/..c");
    assert_canon("/file.tar.gz.", "/file.tar.gz", "/file.tar.gz");
}
END_TEST

/* Dot segments are removed before trailing dots and slashes: "..." does not
 * climb, ".." drops an empty segment, and a segment that ends with dots is
 * dropped by ".." before its dots are stripped. */
START_TEST(dot_segments_come_before_dot_stripping)
{
    assert_canon("/a/.../../c", "/a/c", "/a/c");
    assert_canon("/a/b../../c", "/a/c", "/a/c");
    assert_canon("/a//../b", "/a/b", "/a/b");
    assert_canon("/a/b//../../c", "/a/c", "/a/c");
    assert_canon("/tools//..%2fnow", "/tools/now", "/tools/now");
    assert_canon("/a\\\\..\\\\b", "/a/b", "/a/b");
    assert_canon("/a\\..\\b", "/b", "/b");
    assert_canon("/a/./..", "/", "/");
    assert_canon("/a/b/..%2e", "/a/b/", "/a/b/");
}
END_TEST

START_TEST(escaped_letters_are_decoded)
{
    assert_canon("/%74ools/%65xecute-script", "/tools/execute-script",
                 "/tools/execute-script");
    assert_canon("/%54OOLS", "/TOOLS", "/TOOLS");
}
END_TEST

START_TEST(special_bytes_are_reencoded)
{
    assert_canon("/a%20b", "/a b", "/a%20b");
    assert_canon("/a;b", "/a;b", "/a%3Bb");
    assert_canon("/a%3Fb", "/a?b", "/a%3Fb");
    assert_canon("/a%25b", "/a%b", "/a%25b");
    assert_canon("/a/%252e%252e", "/a/%2e%2e", "/a/%252e%252e");
    assert_canon("/%C3%A9", "/\xc3\xa9", "/%C3%A9");
    assert_canon("/a+b@c:d", "/a+b@c:d", "/a%2Bb@c:d");
    /* civetweb 1.16 reads a raw '+' as a space: the proxy reads it as a
     * plus, as RFC 3986 does, and forwards %2B, a plus for every release. */
    assert_canon("/a%2Bb", "/a+b", "/a%2Bb");
}
END_TEST

START_TEST(unreadable_paths_are_refused)
{
    assert_refused("", OP_PATH_NOT_ABSOLUTE);
    assert_refused("patients", OP_PATH_NOT_ABSOLUTE);
    assert_refused("/a%zz", OP_PATH_BAD_ESCAPE);
    assert_refused("/a%4", OP_PATH_BAD_ESCAPE);
    assert_refused("/a%", OP_PATH_BAD_ESCAPE);
    assert_refused("/tools/execute-script%00", OP_PATH_NUL);
    assert_refused("/a%0d%0aX: y", OP_PATH_CONTROL);
    assert_refused("/a\tb", OP_PATH_CONTROL);
    assert_refused("/a%7f", OP_PATH_CONTROL);
    /* civetweb answers 400 to these as raw bytes, takes them escaped. */
    assert_refused("/a b", OP_PATH_RAW_BYTE);
    assert_refused("/\xc3\xa9", OP_PATH_RAW_BYTE);
    assert_refused("/a\x7f", OP_PATH_CONTROL);
}
END_TEST

START_TEST(a_raw_nul_inside_the_length_is_refused)
{
    op_path path;
    ck_assert_int_eq(op_path_parse(test_pool, "/a\0b", 4, &path), OP_PATH_NUL);
}
END_TEST

START_TEST(canonicalising_twice_changes_nothing)
{
    static const char *const samples[] = {
        "/a%2f..%2F%2e%2e/b", "/x/%252e/", "//a\\b/./c/../d/", "/%41%42;c",
        "/a./b%2e./...", "/a//../b.%2e/%2e%2e%2e"
    };
    size_t i;
    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const char *d1, *e1, *d2, *e2;
        ck_assert_int_eq(canon(samples[i], &d1, &e1), OP_PATH_OK);
        ck_assert_int_eq(canon(e1, &d2, &e2), OP_PATH_OK);
        ck_assert_str_eq(e1, e2);
        ck_assert_str_eq(d1, d2);
    }
}
END_TEST

START_TEST(prefixes_match_whole_segments)
{
    op_path prefix = test_path("/orthanc/");
    op_path root = test_path("/");
    op_path bare = test_path("/orthanc"), below = test_path("/orthanc/patients");
    op_path slash = test_path("/orthanc/"), other = test_path("/orthancX/patients");

    ck_assert_int_eq(op_path_match_prefix(&bare, &prefix), OP_PREFIX_BARE);
    ck_assert_int_eq(op_path_match_prefix(&slash, &prefix), OP_PREFIX_UNDER);
    ck_assert_int_eq(op_path_match_prefix(&below, &prefix), OP_PREFIX_UNDER);
    ck_assert_int_eq(op_path_match_prefix(&other, &prefix), OP_PREFIX_NONE);
    ck_assert_int_eq(op_path_match_prefix(&other, &root), OP_PREFIX_UNDER);
}
END_TEST

START_TEST(the_path_below_the_prefix_is_joined)
{
    op_path path = test_path("/orthanc/app/explorer.html");
    op_path root = test_path("/orthanc/");
    ck_assert_str_eq(op_path_join(test_pool, &path, 1, OP_PATH_ENCODED),
                     "/app/explorer.html");
    ck_assert_str_eq(op_path_join(test_pool, &root, 1, OP_PATH_ENCODED), "/");
}
END_TEST

START_TEST(apache_uris_match_like_location)
{
    ck_assert_int_eq(op_uri_match_prefix("/orthanc", "/orthanc"), OP_PREFIX_BARE);
    ck_assert_int_eq(op_uri_match_prefix("/orthanc/", "/orthanc"), OP_PREFIX_UNDER);
    ck_assert_int_eq(op_uri_match_prefix("/orthanc/x", "/orthanc"), OP_PREFIX_UNDER);
    ck_assert_int_eq(op_uri_match_prefix("/orthancX", "/orthanc"), OP_PREFIX_NONE);
    ck_assert_int_eq(op_uri_match_prefix("/orthanc%2Fx", "/orthanc"), OP_PREFIX_NONE);
    ck_assert_int_eq(op_uri_match_prefix("/anything", ""), OP_PREFIX_UNDER);
    ck_assert_int_eq(op_uri_match_prefix(NULL, "/orthanc"), OP_PREFIX_NONE);
}
END_TEST

START_TEST(every_status_has_a_reason)
{
    ck_assert_ptr_nonnull(strstr(op_path_status_reason(OP_PATH_NUL), "NUL"));
    ck_assert_ptr_nonnull(strstr(op_path_status_reason(OP_PATH_BAD_ESCAPE), "%"));
    ck_assert_ptr_nonnull(strstr(op_path_status_reason(OP_PATH_CONTROL), "control"));
    ck_assert_ptr_nonnull(strstr(op_path_status_reason(OP_PATH_NOT_ABSOLUTE), "/"));
    ck_assert_ptr_nonnull(strstr(op_path_status_reason(OP_PATH_RAW_BYTE), "percent"));
}
END_TEST

Suite *path_canon_suite(void)
{
    Suite *s = suite_create("path_canon");
    TCase *tc = pooled_tcase("canonical form");

    tcase_add_test(tc, plain_paths_stay_as_they_are);
    tcase_add_test(tc, separators_collapse_like_orthanc);
    tcase_add_test(tc, dot_segments_are_resolved);
    tcase_add_test(tc, dot_dot_stops_at_the_root);
    tcase_add_test(tc, trailing_dots_are_stripped_like_civetweb);
    tcase_add_test(tc, dot_segments_come_before_dot_stripping);
    tcase_add_test(tc, escaped_letters_are_decoded);
    tcase_add_test(tc, special_bytes_are_reencoded);
    tcase_add_test(tc, unreadable_paths_are_refused);
    tcase_add_test(tc, a_raw_nul_inside_the_length_is_refused);
    tcase_add_test(tc, canonicalising_twice_changes_nothing);
    tcase_add_test(tc, prefixes_match_whole_segments);
    tcase_add_test(tc, the_path_below_the_prefix_is_joined);
    tcase_add_test(tc, apache_uris_match_like_location);
    tcase_add_test(tc, every_status_has_a_reason);
    suite_add_tcase(s, tc);
    return s;
}
