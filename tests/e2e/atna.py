# SPDX-License-Identifier: Apache-2.0
"""Checks a DICOM audit message (IHE ATNA) against DICOM PS3.15 Annex A.5.

The standard's schema (PS3.15 A.5.1) is not shipped by Debian, so each
message is checked against the required elements and codes of the
standard's tables, written here in this project's own words:

- A.5.1, the message format every event shares: one EventIdentification
  (EventActionCode C R U D or E, EventDateTime, EventOutcomeIndicator 0 4 8
  or 12, one EventID coded as csd-code + codeSystemName), one or more
  ActiveParticipant (UserID, UserIsRequestor true or false; a
  NetworkAccessPointID goes with its TypeCode 1-5), one or more
  AuditSourceIdentification (AuditSourceID), and ParticipantObjectIdentification
  elements (ParticipantObjectID, TypeCode 1-4, TypeCodeRole 1-24, one coded
  ParticipantObjectIDTypeCode); coded values carry csd-code and
  codeSystemName; details are type + base64 value.
- A.5.3, per event (EVENTS below): the EventID's code, the action codes
  allowed, the roles that must appear among the active participants, and
  the participant objects required (studies by Study Instance UID, 110180;
  exactly one patient by Patient Number, RFC-3881 code 2; a query by its
  SOP Class UID, 110181, with the query itself; an alert subject with its
  description), and the event type codes required (Security Alert: a code
  of CID 403, e.g. 110132 Use of Restricted Function; User Authentication:
  110122 Login or 110123 Logout).
"""

import base64
import re
import xml.etree.ElementTree as ET

STUDY = ("110180", "DCM")
PATIENT = ("2", "RFC-3881")
SOP_CLASS = ("110181", "DCM")
URI = ("12", "RFC-3881")

# code -> (name, actions, roles required, needs studies and one patient,
#          other requirements)
EVENTS = {
    "110103": ("DICOM Instances Accessed", "CRUD", [], True, None),
    "110104": ("DICOM Instances Transferred", "CRU", ["110153", "110152"], True, None),
    "110105": ("DICOM Study Deleted", "D", [], True, None),
    "110106": ("Export", "R", ["110153", "110154"], True, None),
    "110107": ("Import", "C", ["110155", "110152"], True, None),
    "110112": ("Query", "E", ["110153", "110152"], False, "query"),
    "110113": ("Security Alert", "E", [], False, "alert"),
    "110114": ("User Authentication", "E", [], False, "login"),
}
ALERT_TYPES = {"110126", "110127", "110128", "110129", "110130", "110131",
               "110132", "110133", "110134", "110135", "110136", "110137",
               "110138", "110139", "110140", "110141", "110142"}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def coded(element, where, problems):
    if element is None:
        problems.append(f"{where}: missing")
        return None
    code = element.get("csd-code")
    system = element.get("codeSystemName")
    if not code or not system:
        problems.append(f"{where}: a coded value needs csd-code and codeSystemName")
    return (code, system)


def check(xml_text):
    """The problems of XML_TEXT as a DICOM audit message: [] when none."""
    problems = []
    try:
        root = ET.fromstring(xml_text.encode("utf-8"))
    except ET.ParseError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != "AuditMessage":
        return [f"the root is {root.tag}, not AuditMessage"]
    allowed = {"EventIdentification", "ActiveParticipant",
               "AuditSourceIdentification", "ParticipantObjectIdentification"}
    for child in root:
        if child.tag not in allowed:
            problems.append(f"unknown element {child.tag}")
    events = root.findall("EventIdentification")
    if len(events) != 1:
        return problems + [f"{len(events)} EventIdentification instead of 1"]
    ev = events[0]
    action = ev.get("EventActionCode")
    if action not in list("CRUDE"):
        problems.append(f"EventActionCode {action!r}")
    if not DATETIME.match(ev.get("EventDateTime") or ""):
        problems.append(f"EventDateTime {ev.get('EventDateTime')!r}")
    if ev.get("EventOutcomeIndicator") not in ("0", "4", "8", "12"):
        problems.append(f"EventOutcomeIndicator {ev.get('EventOutcomeIndicator')!r}")
    ids = ev.findall("EventID")
    if len(ids) != 1:
        problems.append(f"{len(ids)} EventID instead of 1")
    event_id = coded(ids[0] if ids else None, "EventID", problems)
    types = [coded(t, "EventTypeCode", problems) for t in ev.findall("EventTypeCode")]

    participants = root.findall("ActiveParticipant")
    if not participants:
        problems.append("no ActiveParticipant")
    roles = set()
    for ap in participants:
        if not ap.get("UserID"):
            problems.append("an ActiveParticipant without UserID")
        if ap.get("UserIsRequestor") not in ("true", "false"):
            problems.append(f"UserIsRequestor {ap.get('UserIsRequestor')!r}")
        code = ap.get("NetworkAccessPointTypeCode")
        if code is not None and (code not in "12345" or len(code) != 1
                                 or not ap.get("NetworkAccessPointID")):
            problems.append(f"NetworkAccessPointTypeCode {code!r} without a valid ID")
        for role in ap.findall("RoleIDCode"):
            c = coded(role, "RoleIDCode", problems)
            if c:
                roles.add(c[0])
    if not any(ap.get("UserIsRequestor") == "true" for ap in participants):
        problems.append("no requestor among the active participants")
    sources = root.findall("AuditSourceIdentification")
    if not sources:
        problems.append("no AuditSourceIdentification")
    for s in sources:
        if not s.get("AuditSourceID"):
            problems.append("AuditSourceIdentification without AuditSourceID")
        for t in s.findall("AuditSourceTypeCode"):
            coded(t, "AuditSourceTypeCode", problems)

    objects = root.findall("ParticipantObjectIdentification")
    studies, patients, queries, alerts = [], [], [], []
    for po in objects:
        if not po.get("ParticipantObjectID"):
            problems.append("a ParticipantObject without ParticipantObjectID")
        if po.get("ParticipantObjectTypeCode") not in ("1", "2", "3", "4"):
            problems.append(f"ParticipantObjectTypeCode {po.get('ParticipantObjectTypeCode')!r}")
        role = po.get("ParticipantObjectTypeCodeRole")
        if role is not None and not (role.isdigit() and 1 <= int(role) <= 24):
            problems.append(f"ParticipantObjectTypeCodeRole {role!r}")
        id_types = po.findall("ParticipantObjectIDTypeCode")
        if len(id_types) != 1:
            problems.append(f"{len(id_types)} ParticipantObjectIDTypeCode instead of 1")
            continue
        id_type = coded(id_types[0], "ParticipantObjectIDTypeCode", problems)
        for detail in po.findall("ParticipantObjectDetail"):
            try:
                base64.b64decode(detail.get("value") or "", validate=True)
            except ValueError:
                problems.append("a ParticipantObjectDetail value is not base64")
            if not detail.get("type"):
                problems.append("a ParticipantObjectDetail without type")
        kind = (po.get("ParticipantObjectTypeCode"), role, id_type)
        if kind == ("2", "3", STUDY):
            studies.append(po)
        elif kind == ("1", "1", PATIENT):
            patients.append(po)
        elif kind == ("2", "3", SOP_CLASS):
            queries.append(po)
        elif kind[0] == "2" and id_type == URI:
            alerts.append(po)

    if event_id is None or event_id[1] != "DCM" or event_id[0] not in EVENTS:
        return problems + [f"EventID {event_id} is not one of A.5.3's"]
    name, actions, needed_roles, needs_studies, other = EVENTS[event_id[0]]
    if action not in actions:
        problems.append(f"{name}: EventActionCode {action} (allowed: {actions})")
    for role in needed_roles:
        if role not in roles:
            problems.append(f"{name}: no active participant with role {role}")
    if needs_studies:
        if not studies:
            problems.append(f"{name}: no study (Study Instance UID)")
        if len(patients) != 1:
            problems.append(f"{name}: {len(patients)} patients instead of 1")
    if other == "query":
        if len(queries) != 1:
            problems.append(f"{name}: {len(queries)} queried SOP classes instead of 1")
        elif queries[0].find("ParticipantObjectQuery") is None:
            problems.append(f"{name}: no ParticipantObjectQuery")
    if other == "alert":
        if not types or not any(t and t[0] in ALERT_TYPES for t in types):
            problems.append(f"{name}: no EventTypeCode of CID 403")
        if not alerts:
            problems.append(f"{name}: no alert subject")
        elif not any(d.get("type") == "Alert Description"
                     for a in alerts for d in a.findall("ParticipantObjectDetail")):
            problems.append(f"{name}: no Alert Description")
    if other == "login":
        if not types or not any(t and t[0] in ("110122", "110123") for t in types):
            problems.append(f"{name}: no EventTypeCode Login or Logout")
    return problems


def summary(xml_text):
    """The facts tests compare: event code, action, outcome, users, the
    studies and patients, details decoded."""
    root = ET.fromstring(xml_text.encode("utf-8"))
    ev = root.find("EventIdentification")
    out = {"event": ev.find("EventID").get("csd-code"),
           "action": ev.get("EventActionCode"),
           "outcome": ev.get("EventOutcomeIndicator"),
           "requestor": [ap.get("UserID") for ap in root.findall("ActiveParticipant")
                         if ap.get("UserIsRequestor") == "true"],
           "studies": [], "patients": [], "details": {}}
    for po in root.findall("ParticipantObjectIdentification"):
        idt = po.find("ParticipantObjectIDTypeCode").get("csd-code")
        if idt == "110180":
            out["studies"].append(po.get("ParticipantObjectID"))
        elif idt == "2":
            out["patients"].append(po.get("ParticipantObjectID"))
        for d in po.findall("ParticipantObjectDetail"):
            out["details"][d.get("type")] = base64.b64decode(d.get("value")).decode()
    return out
