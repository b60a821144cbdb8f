/* SPDX-License-Identifier: Apache-2.0 */
/* The audit trail's pure logic: audit_record.c, audit_classify.c,
 * audit_resolve.c, audit_event.c, audit_window.c */
#include <string.h>
#include <apr_strings.h>
#include "unit_tests.h"

/* TEXT and its length, as the readers take them. */
#define TEXT(t) (t), strlen(t)
#include "audit_classify.h"
#include "audit_event.h"
#include "audit_record.h"
#include "audit_resolve.h"
#include "audit_window.h"
#include "route_table.h"

/* ---------------------------------------------------------- records */

START_TEST(record_round_trip)
{
    op_audit_record in, out;
    apr_size_t len;
    char *line;

    memset(&in, 0, sizeof(in));
    in.time = 1234567;
    in.node = "pacs";
    in.prefix = "/orthanc/";
    in.credential = -1;
    in.quiet = 60;
    in.longest = 3600;
    in.user = "cl\tara\\\n";
    in.client = "10.0.0.1";
    in.method = "GET";
    in.path = "/studies/x";
    in.status = 200;
    in.stage = OP_AUDIT_STAGE_REFUSED;
    in.reason = "bad \x01 byte";
    in.bytes_out = 99;
    in.bytes_in = APR_INT64_MAX;
    line = op_audit_record_encode(test_pool, &in, &len);
    ck_assert_uint_eq(strlen(line), len);
    ck_assert(line[len - 1] == '\n');
    ck_assert(strchr(line, '\n') == line + len - 1);
    ck_assert_ptr_null(op_audit_record_decode(test_pool, line, len - 1, &out));
    ck_assert_int_eq(out.time, 1234567);
    ck_assert_str_eq(out.user, "cl\tara\\\n");
    ck_assert_str_eq(out.reason, "bad \x01 byte");
    ck_assert_ptr_null(out.site);
    ck_assert_ptr_null(out.query);
    ck_assert_int_eq(out.credential, -1);
    ck_assert_int_eq(out.stage, OP_AUDIT_STAGE_REFUSED);
    ck_assert_int_eq(out.bytes_out, 99);
    ck_assert(out.bytes_in == APR_INT64_MAX);
    ck_assert(!out.truncated);
}
END_TEST

START_TEST(record_stays_below_pipe_buf)
{
    op_audit_record in, out;
    char *big = apr_palloc(test_pool, 20001);
    apr_size_t len;
    char *line;

    memset(big, '\t', 20000);
    big[20000] = '\0';
    memset(&in, 0, sizeof(in));
    in.node = in.site = in.prefix = in.user = in.client = big;
    in.method = in.path = in.query = in.reason = in.rule = big;
    in.subject = in.answer = in.body = in.request_id = big;
    line = op_audit_record_encode(test_pool, &in, &len);
    ck_assert_uint_le(len, OP_AUDIT_RECORD_MAX);
    ck_assert_ptr_null(op_audit_record_decode(test_pool, line, len - 1, &out));
    ck_assert(out.truncated);
    ck_assert(strspn(out.path, "\t") == strlen(out.path));
}
END_TEST

START_TEST(record_cuts_plain_and_escaped_text_within_budget)
{
    op_audit_record in, out;
    char *big = apr_palloc(test_pool, 3001);
    apr_size_t len;
    int i;

    /* Plain runs with an escape now and then, cut at every length. */
    for (i = 0; i < 3000; i++) {
        big[i] = i % 7 == 6 ? '\t' : 'a' + i % 26;
    }
    for (i = 690; i < 3000; i += 1) {
        char *line;
        big[i] = '\0';
        memset(&in, 0, sizeof(in));
        in.method = "GET";
        in.path = big;
        line = op_audit_record_encode(test_pool, &in, &len);
        ck_assert_uint_le(len, OP_AUDIT_RECORD_MAX);
        ck_assert_ptr_null(op_audit_record_decode(test_pool, line, len - 1, &out));
        ck_assert(strncmp(out.path, big, strlen(out.path)) == 0);
        ck_assert(out.truncated == (strlen(out.path) < (size_t)i));
        big[i] = i % 7 == 6 ? '\t' : 'a' + i % 26;
        if (i > 720) {
            i += 97;
        }
    }
}
END_TEST

START_TEST(record_refuses_garbage)
{
    op_audit_record out;
    ck_assert_ptr_nonnull(op_audit_record_decode(test_pool, "x", 1, &out));
    ck_assert_ptr_nonnull(op_audit_record_decode(test_pool, "OPA1\t1", 6, &out));
}
END_TEST

/* ------------------------------------------------------ classifying */

static op_audit_class classify(const char *method, const char *path,
                               const char *query)
{
    op_path p = test_path(path);
    return op_audit_classify(test_pool, method, &p, 0, query);
}

START_TEST(every_family_of_the_route_table_has_a_decision)
{
    const op_route *route;

    for (route = op_route_table(); route->pattern; route++) {
        /* A path the pattern matches: each star a segment "x". */
        char *path = apr_pstrdup(test_pool, route->pattern), *c;
        const char *method;
        op_audit_class c1;

        if ((c = strstr(path, "/**")) != NULL) {
            *c = '\0';
        }
        for (c = path; *c; c++) {
            if (*c == '*') {
                *c = 'x';
            }
        }
        if (*path == '\0') {
            path = "/";
        }
        method = strcmp(route->methods, "*") == 0 ? "GET" : route->methods;
        method = apr_pstrndup(test_pool, method, strcspn(method, ","));
        c1 = classify(method, path, NULL);
        ck_assert_msg(c1.family_known, "%s %s (%s) has no audit decision",
                      method, path, route->family);
    }
}
END_TEST

START_TEST(viewing_queries_and_changes)
{
    op_audit_class c;

    c = classify("GET", "/instances/abc/frames/0/preview", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_ACCESSED);
    ck_assert_int_eq(c.level, OP_RESOURCE_INSTANCE);
    ck_assert_str_eq(c.orthanc_id, "abc");

    c = classify("GET", "/dicom-web/studies/1.2/series/3.4/instances/5.6/frames/1", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_ACCESSED);
    ck_assert_str_eq(c.study_uid, "1.2");
    ck_assert_str_eq(c.series_uid, "3.4");
    ck_assert_str_eq(c.instance_uid, "5.6");

    c = classify("GET", "/dicom-web/studies", "limit=101&PatientName=DOE*");
    ck_assert_int_eq(c.kind, OP_AUDIT_QUERY);
    ck_assert_int_eq(c.action, 'E');

    c = classify("GET", "/wado", "requestType=WADO&studyUID=1.2&seriesUID=3&objectUID=4%2E5");
    ck_assert_int_eq(c.kind, OP_AUDIT_ACCESSED);
    ck_assert_str_eq(c.study_uid, "1.2");
    ck_assert_str_eq(c.instance_uid, "4.5");

    c = classify("POST", "/tools/find", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_QUERY);
    ck_assert(c.keep_body);

    c = classify("GET", "/studies", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_QUERY);

    c = classify("GET", "/studies/s1/archive", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_EXPORT);
    ck_assert_int_eq(c.level, OP_RESOURCE_STUDY);

    c = classify("GET", "/instances/i1/file", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_EXPORT);

    c = classify("POST", "/instances", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_IMPORT);
    ck_assert(c.keep_answer);

    c = classify("POST", "/dicom-web/studies", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_IMPORT);

    c = classify("DELETE", "/studies/s1", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_DELETE);
    ck_assert(c.resolve_first);

    c = classify("POST", "/tools/bulk-delete", NULL);
    ck_assert(c.unattributable);

    c = classify("POST", "/studies/s1/anonymize", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_MODIFY);
    ck_assert(c.resolve_first && c.keep_answer);
    ck_assert_str_eq(c.what, "anonymize");

    c = classify("PUT", "/studies/s1/labels/x", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_MODIFY);
    ck_assert_int_eq(c.action, 'U');

    c = classify("POST", "/modalities/pacs/store", NULL);
    ck_assert_int_eq(c.kind, OP_AUDIT_TRANSFER);
    ck_assert_str_eq(c.what, "pacs");

    ck_assert_int_eq(classify("GET", "/system", NULL).kind, OP_AUDIT_NONE);
    ck_assert_int_eq(classify("GET", "/tools/labels", NULL).kind, OP_AUDIT_NONE);
    ck_assert_int_eq(classify("GET", "/my-plugin/x", NULL).kind, OP_AUDIT_UNKNOWN);
}
END_TEST

/* ------------------------------------------------------- resolution */

START_TEST(reads_orthanc_answers)
{
    op_audit_subject s;
    apr_array_header_t *ids, *counts;
    const char *study = "{\"ID\":\"s1\",\"MainDicomTags\":{\"StudyInstanceUID\":\"1.2.3\"},"
        "\"PatientMainDicomTags\":{\"PatientID\":\"P7\",\"PatientName\":\"DOE^JO\"}}";
    const char *parent, *uid;
    char *summary;
    apr_int64_t n, bytes;

    ck_assert_ptr_null(op_audit_read_study(test_pool, study, strlen(study), &s));
    ck_assert_str_eq(s.study_uid, "1.2.3");
    ck_assert_str_eq(s.patient_id, "P7");
    ck_assert_str_eq(s.patient_name, "DOE^JO");

    ck_assert_ptr_null(op_audit_read_child(test_pool,
        TEXT("{\"ParentSeries\":\"r1\",\"MainDicomTags\":{\"SOPInstanceUID\":\"9.9\"}}"), OP_RESOURCE_INSTANCE, &parent, &uid));
    ck_assert_str_eq(parent, "r1");
    ck_assert_str_eq(uid, "9.9");

    ck_assert_ptr_null(op_audit_read_statistics(test_pool,
        TEXT("{\"CountInstances\":3,\"DiskSize\":\"1000\"}"), &n, &bytes));
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(bytes, 1000);

    ck_assert_ptr_nonnull(op_audit_read_find(test_pool, TEXT("[]"), &s));

    ck_assert_ptr_null(op_audit_summarize_upload(test_pool,
        TEXT("[{\"ID\":\"i1\",\"ParentStudy\":\"s1\",\"Status\":\"Success\"},"
        "{\"ID\":\"i2\",\"ParentStudy\":\"s1\",\"Status\":\"AlreadyStored\"},"
        "{\"ID\":\"i3\",\"ParentStudy\":\"s2\",\"Status\":\"Success\"}]"), &summary));
    ck_assert_str_eq(summary, "{\"studies\":{\"s1\":2,\"s2\":1},\"stored\":3,\"failed\":0}");
    ck_assert_ptr_null(op_audit_upload_studies(test_pool, summary, &ids, &counts));
    ck_assert_int_eq(ids->nelts, 2);
    ck_assert_int_eq(APR_ARRAY_IDX(counts, 0, apr_int64_t), 2);

    ck_assert_ptr_null(op_audit_summarize_stow(test_pool,
        TEXT("{\"00081190\":{\"vr\":\"UR\",\"Value\":[\"http://h/o/dicom-web/studies/1.2\"]},"
        "\"00081199\":{\"vr\":\"SQ\",\"Value\":[{},{}]}}"), &summary));
    ck_assert_str_eq(summary, "{\"study_uid\":\"1.2\",\"stored\":2,\"failed\":0}");

    ck_assert_ptr_null(op_audit_summarize_change(test_pool,
        TEXT("{\"ID\":\"n1\",\"Path\":\"/studies/n1\",\"Type\":\"Study\"}"), &summary));
    ck_assert_str_eq(summary, "{\"id\":\"n1\",\"type\":\"Study\"}");

    s.instances = 4;
    s.bytes = 10;
    ck_assert_ptr_null(op_audit_subject_parse(test_pool,
        op_audit_subject_json(test_pool, &s), &s));
    ck_assert_str_eq(s.study_uid, "1.2.3");
    ck_assert_int_eq(s.level, OP_RESOURCE_STUDY);
    ck_assert_int_eq(s.instances, 4);
}
END_TEST

/* ---------------------------------------------------------- events */

static op_audit_event sample_event(op_audit_kind kind)
{
    op_audit_event e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.action = 'R';
    e.first = e.last = apr_time_from_sec(1700000000);
    e.requests = 1;
    e.user = "cl<a>ra";
    e.client = "127.0.0.1";
    e.node = "pacs";
    e.prefix = "/orthanc/";
    e.request = "GET /orthanc/studies/s1";
    e.instances = e.bytes = -1;
    return e;
}

START_TEST(writes_json_and_xml)
{
    op_audit_event e = sample_event(OP_AUDIT_ACCESSED);
    apr_array_header_t *subjects = apr_array_make(test_pool, 1,
                                                  sizeof(op_audit_subject));
    op_audit_subject *s = apr_array_push(subjects);
    char *xml, *json, *msg;
    apr_size_t len;

    op_audit_subject_unresolved(s, OP_RESOURCE_STUDY, "s1");
    s->study_uid = "1.2.3";
    s->patient_id = "P&7";
    s->patient_name = "D\xc3\xa9j\xff";
    s->instances = 2;
    e.subjects = subjects;
    xml = op_audit_event_xml(test_pool, &e);
    ck_assert_ptr_nonnull(strstr(xml, "csd-code=\"110103\""));
    ck_assert_ptr_nonnull(strstr(xml, "UserID=\"cl&lt;a&gt;ra\""));
    ck_assert_ptr_nonnull(strstr(xml, "ParticipantObjectID=\"P&amp;7\""));
    ck_assert_ptr_nonnull(strstr(xml, "D\xc3\xa9j\xef\xbf\xbd"));
    ck_assert_ptr_nonnull(strstr(xml, "csd-code=\"110180\""));
    json = op_audit_event_json(test_pool, &e);
    ck_assert_ptr_nonnull(strstr(json, "\"event\":\"instances-accessed\""));
    ck_assert_ptr_nonnull(strstr(json, "\"study_uid\":\"1.2.3\""));
    msg = op_syslog_message(test_pool, 10, 5, e.last, "pacs host", "app",
                            "12", "IHE+RFC-3881", xml, &len);
    ck_assert(strncmp(msg, "<85>1 2023-11-14T22:13:20.000000Z pacs_host app 12 "
                      "IHE+RFC-3881 - \xef\xbb\xbf<?xml", 69) == 0);

    e = sample_event(OP_AUDIT_ALERT);
    e.outcome = 4;
    e.outcome_text = "needs modify";
    xml = op_audit_event_xml(test_pool, &e);
    ck_assert_ptr_nonnull(strstr(xml, "csd-code=\"110113\""));
    ck_assert_ptr_nonnull(strstr(xml, "csd-code=\"110132\""));
    ck_assert_ptr_nonnull(strstr(xml, "EventOutcomeIndicator=\"4\""));
}
END_TEST

/* --------------------------------------------------------- windows */

typedef struct {
    int count;
    op_audit_event last;
    apr_int64_t instances;
} emitted;

static void collect(void *ctx, const op_audit_event *e)
{
    emitted *got = ctx;
    got->count++;
    got->last = *e;
    got->instances = e->subjects ? APR_ARRAY_IDX(e->subjects, 0,
                                                 op_audit_subject).instances : -1;
}

START_TEST(one_event_per_user_study_and_action)
{
    op_audit_windows *w = op_audit_windows_make(test_pool);
    op_audit_event e = sample_event(OP_AUDIT_ACCESSED);
    op_audit_subject s;
    emitted got = { 0 };
    apr_time_t t0 = e.first;
    int i;

    op_audit_subject_unresolved(&s, OP_RESOURCE_STUDY, NULL);
    s.study_uid = "1.2";
    s.patient_id = "P";
    for (i = 0; i < 500; i++) {
        e.first = e.last = t0 + apr_time_from_sec(i / 100);
        e.bytes = 10;
        op_audit_windows_add(w, &e, &s, i % 2 ? "a" : apr_itoa(test_pool, i),
                             60, 3600);
    }
    e.user = "other";
    e.first = e.last = t0 + apr_time_from_sec(10);
    op_audit_windows_add(w, &e, &s, NULL, 60, 3600);
    ck_assert_int_eq(op_audit_windows_open(w), 2);
    ck_assert_int_eq(op_audit_windows_close(w, t0 + apr_time_from_sec(30),
                                            collect, &got), 0);
    ck_assert_int_eq(op_audit_windows_close(w, t0 + apr_time_from_sec(64),
                                            collect, &got), 1);
    ck_assert_int_eq(got.last.requests, 500);
    ck_assert_int_eq(got.last.bytes, 5000);
    ck_assert_int_eq(got.last.instances, 251);
    ck_assert_int_eq(got.instances, 251);
    ck_assert_int_eq(op_audit_windows_close(w, 0, collect, &got), 1);
    ck_assert_int_eq(op_audit_windows_open(w), 0);
}
END_TEST

Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = pooled_tcase("audit");
    tcase_add_test(tc, record_round_trip);
    tcase_add_test(tc, record_stays_below_pipe_buf);
    tcase_add_test(tc, record_cuts_plain_and_escaped_text_within_budget);
    tcase_add_test(tc, record_refuses_garbage);
    tcase_add_test(tc, every_family_of_the_route_table_has_a_decision);
    tcase_add_test(tc, viewing_queries_and_changes);
    tcase_add_test(tc, reads_orthanc_answers);
    tcase_add_test(tc, writes_json_and_xml);
    tcase_add_test(tc, one_event_per_user_study_and_action);
    suite_add_tcase(s, tc);
    return s;
}
