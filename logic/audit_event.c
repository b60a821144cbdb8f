/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_event.c - an event of the audit trail as a JSON line and as a
 * DICOM audit message in a syslog message (audit_event.h).
 *
 * The DICOM message follows PS3.15 A.5.1 (the general message format:
 * EventIdentification, ActiveParticipant, AuditSourceIdentification,
 * ParticipantObjectIdentification, coded values as csd-code,
 * codeSystemName and originalText) and, for each event, the table of
 * A.5.3 that describes it.
 */
#include "audit_event.h"

#include <string.h>
#include <apr_base64.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "json_error.h"

/* ------------------------------------------------------------ text */

/* The length of the well-formed UTF-8 sequence at S (1-4), or 0. */
static apr_size_t utf8_length(const unsigned char *s)
{
    apr_size_t n, i;
    unsigned int cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return n;
}

char *op_xml_escape(apr_pool_t *p, const char *text)
{
    const unsigned char *c = (const unsigned char *)(text ? text : "");
    char *out = apr_palloc(p, 6 * strlen((const char *)c) + 1), *o = out;

    while (*c) {
        apr_size_t n;
        const char *entity = NULL;

        switch (*c) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&apos;"; break;
        }
        if (entity) {
            o = stpcpy(o, entity);
            c++;
        }
        else if (*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') {
            c++;                            /* not allowed in XML 1.0 */
        }
        else if (*c == 0x7f) {
            c++;
        }
        else if ((n = utf8_length(c)) > 0) {
            memcpy(o, c, n);
            o += n;
            c += n;
        }
        else {
            o = stpcpy(o, "\xef\xbf\xbd");  /* U+FFFD */
            c++;
        }
    }
    *o = '\0';
    return out;
}

char *op_audit_time(apr_pool_t *p, apr_time_t time)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, time);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                        t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                        t.tm_min, t.tm_sec, t.tm_usec);
}

static const char *base64(apr_pool_t *p, const char *text)
{
    int len = (int)strlen(text);
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len(len));
    apr_base64_encode(out, text, len);
    return out;
}

/* ------------------------------------------------------- the codes */

typedef struct {
    const char *code;
    const char *system;
    const char *meaning;
} coded;

static const coded EVENT_IDS[OP_AUDIT_KINDS] = {
    { NULL, NULL, NULL },
    { "110103", "DCM", "DICOM Instances Accessed" },
    { "110112", "DCM", "Query" },
    { "110106", "DCM", "Export" },
    { "110104", "DCM", "DICOM Instances Transferred" },
    { "110107", "DCM", "Import" },
    { "110105", "DCM", "DICOM Study Deleted" },
    { "110103", "DCM", "DICOM Instances Accessed" },
    { "110113", "DCM", "Security Alert" },
    { "110114", "DCM", "User Authentication" },
    { NULL, NULL, NULL }
};

static const coded STUDY_UID = { "110180", "DCM", "Study Instance UID" };
static const coded SOP_CLASS_UID = { "110181", "DCM", "SOP Class UID" };
static const coded PATIENT_NUMBER = { "2", "RFC-3881", "Patient Number" };
static const coded URI = { "12", "RFC-3881", "URI" };
static const coded ORTHANC_ID = { "ORTHANC-ID", "99ORTHANC", "Orthanc resource ID" };
static const coded RESTRICTED = { "110132", "DCM", "Use of Restricted Function" };
static const coded LOGIN = { "110122", "DCM", "Login" };
static const coded APPLICATION = { "110150", "DCM", "Application" };
static const coded SOURCE_ROLE = { "110153", "DCM", "Source Role ID" };
static const coded DESTINATION_ROLE = { "110152", "DCM", "Destination Role ID" };
static const coded DESTINATION_MEDIA = { "110154", "DCM", "Destination Media" };
static const coded SOURCE_MEDIA = { "110155", "DCM", "Source Media" };
static const coded WEB_SERVER = { "3", "DCM", "Web Server Process or Thread" };

/* The Study Root Query/Retrieve Information Model - FIND: the model a
 * QIDO-RS or /tools/find search queries. */
#define STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"

/* A series or an instance deleted is Instances Accessed with action D;
 * only whole studies (and patients) are Study Deleted. */
static const coded *event_id(const op_audit_event *e)
{
    if (e->kind == OP_AUDIT_DELETE && e->subjects) {
        int i;
        for (i = 0; i < e->subjects->nelts; i++) {
            const op_audit_subject *s = &APR_ARRAY_IDX(e->subjects, i,
                                                       op_audit_subject);
            if (s->level == OP_RESOURCE_SERIES
                || s->level == OP_RESOURCE_INSTANCE) {
                return &EVENT_IDS[OP_AUDIT_ACCESSED];
            }
        }
    }
    return &EVENT_IDS[e->kind < OP_AUDIT_KINDS ? e->kind : 0];
}

const char *op_audit_event_code(const op_audit_event *event)
{
    return event_id(event)->code;
}

const char *op_audit_event_meaning(const op_audit_event *event)
{
    return event_id(event)->meaning;
}

/* ------------------------------------------------------------ JSON */

static const char *jstr(apr_pool_t *p, const char *text)
{
    return text ? op_json_string(p, text) : "null";
}

static const char *jnum(apr_pool_t *p, apr_int64_t n)
{
    return n < 0 ? "null" : apr_psprintf(p, "%" APR_INT64_T_FMT, n);
}

static const char *subject_json(apr_pool_t *p, const op_audit_subject *s)
{
    return apr_psprintf(p, "{\"patient_id\":%s,\"patient_name\":%s,"
                        "\"study_uid\":%s,\"instances\":%s,\"bytes\":%s,"
                        "\"role\":%s,\"orthanc_id\":%s,\"level\":%s}",
                        jstr(p, s->patient_id), jstr(p, s->patient_name),
                        jstr(p, s->study_uid), jnum(p, s->instances),
                        jnum(p, s->bytes), jstr(p, s->role),
                        jstr(p, s->orthanc_id),
                        jstr(p, op_resource_collection(s->level)));
}

char *op_audit_event_json(apr_pool_t *p, const op_audit_event *e)
{
    const coded *id = event_id(e);
    char action[2] = { e->action, '\0' };
    const char *subjects = "";
    int i;

    for (i = 0; e->subjects && i < e->subjects->nelts; i++) {
        subjects = apr_pstrcat(p, subjects, i ? "," : "",
                               subject_json(p, &APR_ARRAY_IDX(
                                   e->subjects, i, op_audit_subject)), NULL);
    }
    return apr_pstrcat(p,
        "{\"time\":", jstr(p, op_audit_time(p, e->last)),
        ",\"event\":", jstr(p, op_audit_kind_name(e->kind)),
        ",\"event_id\":", jstr(p, id->code),
        ",\"event_name\":", jstr(p, id->meaning),
        ",\"action\":", jstr(p, action),
        ",\"outcome\":", apr_itoa(p, e->outcome),
        ",\"outcome_text\":", jstr(p, e->outcome_text),
        ",\"user\":", jstr(p, e->user),
        ",\"client\":", jstr(p, e->client),
        ",\"node\":", jstr(p, e->node),
        ",\"site\":", jstr(p, e->site),
        ",\"mapping\":", jstr(p, e->prefix),
        ",\"first\":", jstr(p, op_audit_time(p, e->first)),
        ",\"last\":", jstr(p, op_audit_time(p, e->last)),
        ",\"requests\":", jnum(p, e->requests),
        ",\"instances\":", jnum(p, e->instances),
        ",\"bytes\":", jnum(p, e->bytes),
        ",\"request\":", jstr(p, e->request),
        ",\"query\":", jstr(p, e->query),
        ",\"what\":", jstr(p, e->what),
        ",\"destination\":", jstr(p, e->destination),
        ",\"participants\":[", subjects, "]",
        ",\"truncated\":", e->truncated ? "true" : "false",
        "}", NULL);
}

/* ------------------------------------------------------------- XML */

static const char *code_xml(apr_pool_t *p, const char *element,
                            const coded *c)
{
    return apr_psprintf(p, "<%s csd-code=\"%s\" codeSystemName=\"%s\" "
                        "originalText=\"%s\"/>", element, c->code, c->system,
                        op_xml_escape(p, c->meaning));
}

static const char *detail_xml(apr_pool_t *p, const char *type,
                              const char *value)
{
    return apr_psprintf(p, "<ParticipantObjectDetail type=\"%s\" "
                        "value=\"%s\"/>", op_xml_escape(p, type),
                        base64(p, value));
}

/* The requesting person (or client, when nobody logged in). */
static const char *requestor_xml(apr_pool_t *p, const op_audit_event *e,
                                 const coded *role)
{
    return apr_pstrcat(p,
        "<ActiveParticipant UserID=\"", op_xml_escape(p, e->user ? e->user : "-"),
        "\"", e->user ? "" : " UserName=\"not authenticated\"",
        " UserIsRequestor=\"true\" NetworkAccessPointID=\"",
        op_xml_escape(p, e->client), "\" NetworkAccessPointTypeCode=\"2\">",
        role ? code_xml(p, "RoleIDCode", role) : "",
        "</ActiveParticipant>", NULL);
}

/* The proxy itself: the node, the mapping, the audit program's PID. */
static const char *node_xml(apr_pool_t *p, const op_audit_event *e,
                            const coded *role)
{
    return apr_pstrcat(p,
        "<ActiveParticipant UserID=\"",
        op_xml_escape(p, apr_pstrcat(p, e->node, e->prefix, NULL)), "\"",
        e->process_id ? " AlternativeUserID=\"" : "",
        e->process_id ? op_xml_escape(p, e->process_id) : "",
        e->process_id ? "\"" : "",
        " UserIsRequestor=\"false\" NetworkAccessPointID=\"",
        op_xml_escape(p, e->node), "\" NetworkAccessPointTypeCode=\"1\">",
        code_xml(p, "RoleIDCode", role), "</ActiveParticipant>", NULL);
}

static const char *number_text(apr_pool_t *p, apr_int64_t n)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, n);
}

static const char *study_xml(apr_pool_t *p, const op_audit_event *e,
                             const op_audit_subject *s)
{
    const char *details = "", *description;

    if (s->instances >= 0) {
        details = detail_xml(p, "NumberOfInstances",
                             number_text(p, s->instances));
    }
    if (s->bytes >= 0) {
        details = apr_pstrcat(p, details,
                              detail_xml(p, "NumberOfBytes",
                                         number_text(p, s->bytes)), NULL);
    }
    description = apr_pstrcat(p, s->role ? s->role : "",
                              s->role && e->what ? " " : "",
                              e->what ? e->what : "", NULL);
    if (s->study_uid == NULL) {
        /* Orthanc did not say which study: its own ID is all we have. */
        return apr_pstrcat(p,
            "<ParticipantObjectIdentification ParticipantObjectID=\"",
            op_xml_escape(p, s->orthanc_id ? s->orthanc_id : "-"),
            "\" ParticipantObjectTypeCode=\"2\" "
            "ParticipantObjectTypeCodeRole=\"3\">",
            code_xml(p, "ParticipantObjectIDTypeCode", &ORTHANC_ID), details,
            "<ParticipantObjectDescription>unresolved ",
            op_xml_escape(p, op_resource_collection(s->level)),
            "</ParticipantObjectDescription>",
            "</ParticipantObjectIdentification>", NULL);
    }
    return apr_pstrcat(p,
        "<ParticipantObjectIdentification ParticipantObjectID=\"",
        op_xml_escape(p, s->study_uid),
        "\" ParticipantObjectTypeCode=\"2\" "
        "ParticipantObjectTypeCodeRole=\"3\">",
        code_xml(p, "ParticipantObjectIDTypeCode", &STUDY_UID), details,
        *description ? "<ParticipantObjectDescription>" : "",
        *description ? op_xml_escape(p, description) : "",
        *description ? "</ParticipantObjectDescription>" : "",
        "</ParticipantObjectIdentification>", NULL);
}

static const char *patient_xml(apr_pool_t *p, const op_audit_subject *s)
{
    return apr_pstrcat(p,
        "<ParticipantObjectIdentification ParticipantObjectID=\"",
        op_xml_escape(p, s->patient_id),
        "\" ParticipantObjectTypeCode=\"1\" "
        "ParticipantObjectTypeCodeRole=\"1\">",
        code_xml(p, "ParticipantObjectIDTypeCode", &PATIENT_NUMBER),
        s->patient_name ? "<ParticipantObjectName>" : "",
        s->patient_name ? op_xml_escape(p, s->patient_name) : "",
        s->patient_name ? "</ParticipantObjectName>" : "",
        "</ParticipantObjectIdentification>", NULL);
}

/* Studies, then each patient once. */
static const char *subjects_xml(apr_pool_t *p, const op_audit_event *e)
{
    apr_hash_t *patients = apr_hash_make(p);
    const char *studies = "", *people = "";
    int i;

    for (i = 0; e->subjects && i < e->subjects->nelts; i++) {
        const op_audit_subject *s = &APR_ARRAY_IDX(e->subjects, i,
                                                   op_audit_subject);
        if (s->study_uid != NULL || s->patient_id == NULL) {
            studies = apr_pstrcat(p, studies, study_xml(p, e, s), NULL);
        }
        if (s->patient_id != NULL
            && apr_hash_get(patients, s->patient_id, APR_HASH_KEY_STRING)
               == NULL) {
            apr_hash_set(patients, s->patient_id, APR_HASH_KEY_STRING, "");
            people = apr_pstrcat(p, people, patient_xml(p, s), NULL);
        }
    }
    return apr_pstrcat(p, studies, people, NULL);
}

static const char *query_xml(apr_pool_t *p, const op_audit_event *e)
{
    const char *query = e->query ? e->query : "";
    return apr_pstrcat(p,
        "<ParticipantObjectIdentification ParticipantObjectID=\""
        STUDY_ROOT_FIND "\" ParticipantObjectTypeCode=\"2\" "
        "ParticipantObjectTypeCodeRole=\"3\">",
        code_xml(p, "ParticipantObjectIDTypeCode", &SOP_CLASS_UID),
        "<ParticipantObjectQuery>", base64(p, query),
        "</ParticipantObjectQuery>",
        detail_xml(p, "QueryEncoding", "UTF-8"),
        "<ParticipantObjectDescription>", op_xml_escape(p, e->request),
        "</ParticipantObjectDescription>",
        "</ParticipantObjectIdentification>", NULL);
}

static const char *alert_xml(apr_pool_t *p, const op_audit_event *e)
{
    return apr_pstrcat(p,
        "<ParticipantObjectIdentification ParticipantObjectID=\"",
        op_xml_escape(p, e->request),
        "\" ParticipantObjectTypeCode=\"2\" "
        "ParticipantObjectTypeCodeRole=\"13\">",
        code_xml(p, "ParticipantObjectIDTypeCode", &URI),
        detail_xml(p, "Alert Description",
                   e->outcome_text ? e->outcome_text : "refused"),
        "</ParticipantObjectIdentification>", NULL);
}

char *op_audit_event_xml(apr_pool_t *p, const op_audit_event *e)
{
    const coded *id = event_id(e);
    const char *type = "", *participants = "", *objects = "";
    char action[2] = { e->action, '\0' };

    switch (e->kind) {
    case OP_AUDIT_QUERY:
        participants = apr_pstrcat(p, requestor_xml(p, e, &SOURCE_ROLE),
                                   node_xml(p, e, &DESTINATION_ROLE), NULL);
        objects = query_xml(p, e);
        break;
    case OP_AUDIT_EXPORT:
        participants = apr_pstrcat(p, requestor_xml(p, e, &DESTINATION_MEDIA),
                                   node_xml(p, e, &SOURCE_ROLE), NULL);
        objects = subjects_xml(p, e);
        break;
    case OP_AUDIT_IMPORT:
        participants = apr_pstrcat(p, requestor_xml(p, e, &SOURCE_MEDIA),
                                   node_xml(p, e, &DESTINATION_ROLE), NULL);
        objects = subjects_xml(p, e);
        break;
    case OP_AUDIT_TRANSFER:
        participants = apr_pstrcat(p, requestor_xml(p, e, NULL),
            node_xml(p, e, &SOURCE_ROLE),
            "<ActiveParticipant UserID=\"",
            op_xml_escape(p, e->destination ? e->destination : "-"),
            "\" UserIsRequestor=\"false\">",
            code_xml(p, "RoleIDCode", &DESTINATION_ROLE),
            "</ActiveParticipant>", NULL);
        objects = subjects_xml(p, e);
        break;
    case OP_AUDIT_ALERT:
        type = code_xml(p, "EventTypeCode", &RESTRICTED);
        participants = apr_pstrcat(p, requestor_xml(p, e, NULL),
                                   node_xml(p, e, &APPLICATION), NULL);
        objects = alert_xml(p, e);
        break;
    case OP_AUDIT_LOGIN:
        type = code_xml(p, "EventTypeCode", &LOGIN);
        participants = apr_pstrcat(p, requestor_xml(p, e, NULL),
                                   node_xml(p, e, &APPLICATION), NULL);
        break;
    default:
        participants = apr_pstrcat(p, requestor_xml(p, e, NULL),
                                   node_xml(p, e, &APPLICATION), NULL);
        objects = subjects_xml(p, e);
        break;
    }
    return apr_pstrcat(p,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<AuditMessage>"
        "<EventIdentification EventActionCode=\"", action,
        "\" EventDateTime=\"", op_audit_time(p, e->last),
        "\" EventOutcomeIndicator=\"", apr_itoa(p, e->outcome), "\">",
        code_xml(p, "EventID", id), type,
        "</EventIdentification>",
        participants,
        "<AuditSourceIdentification",
        e->site ? " AuditEnterpriseSiteID=\"" : "",
        e->site ? op_xml_escape(p, e->site) : "", e->site ? "\"" : "",
        " AuditSourceID=\"", op_xml_escape(p, e->node), "\">",
        code_xml(p, "AuditSourceTypeCode", &WEB_SERVER),
        "</AuditSourceIdentification>",
        objects,
        "</AuditMessage>", NULL);
}

/* ---------------------------------------------------------- syslog */

/* TEXT as an RFC 5424 header field: printable US-ASCII, at most MAX. */
static const char *header_field(apr_pool_t *p, const char *text,
                                apr_size_t max)
{
    apr_size_t n = text ? strlen(text) : 0, i;
    char *out;

    if (n == 0) {
        return "-";
    }
    n = n > max ? max : n;
    out = apr_pstrmemdup(p, text, n);
    for (i = 0; i < n; i++) {
        if (out[i] < 33 || out[i] > 126) {
            out[i] = '_';
        }
    }
    return out;
}

char *op_syslog_message(apr_pool_t *p, int facility, int severity,
                        apr_time_t time, const char *hostname,
                        const char *app_name, const char *procid,
                        const char *msgid, const char *msg, apr_size_t *len)
{
    char *out = apr_psprintf(p, "<%d>1 %s %s %s %s %s - \xef\xbb\xbf%s",
                             facility * 8 + severity, op_audit_time(p, time),
                             header_field(p, hostname, 255),
                             header_field(p, app_name, 48),
                             header_field(p, procid, 128),
                             header_field(p, msgid, 32), msg);
    *len = strlen(out);
    return out;
}
