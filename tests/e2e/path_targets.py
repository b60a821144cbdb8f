# SPDX-License-Identifier: Apache-2.0
"""Request targets for the differential test of the path reading.

Each target is an Orthanc path spelt the ways a client can spell it: dots
at the end of segments, dot segments ("." "..", "..."), empty segments,
backslashes and encoded separators, percent-encoded letters and dots, case,
NUL, control characters, spaces, raw bytes above 0x7E, broken escapes,
fragments, ';', method overrides, '+', and query strings that Orthanc
releases read differently, alone and combined.  The generator is
seeded, so a failing target can be produced again from its number.
"""

import random

# Orthanc routes, as segments below the prefix; IDs need not exist, as the
# test only asks which route Orthanc picks.
ROUTES = [
    [],
    ["system"],
    ["statistics"],
    ["changes"],
    ["patients"],
    ["patients", "0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c"],
    ["studies", "27f7126f-4f66fb14-03f4081b-f9341db2-53925988", "archive"],
    ["instances", "a-b", "file"],
    ["instances", "a-b", "export"],
    ["tools", "now"],
    ["tools", "log-level"],
    ["tools", "execute-script"],
    ["tools", "shutdown"],
    ["tools", "reset"],
    ["jobs"],
    ["modalities", "sample", "store"],
    ["app", "explorer.html"],
    ["dicom-web", "studies"],
    ["dicom-web", "servers", "remote", "stow"],
]

# The classes a target can belong to; the report counts outcomes by class.
CLASSES = ("plain", "trailing-dots", "dot-segments", "empty-segments",
           "backslash", "encoded-separator", "encoded-letters",
           "encoded-dots", "case", "nul", "control", "space", "raw-byte",
           "bad-escape", "fragment", "semicolon", "non-ascii", "override",
           "query", "plus")


def _encode_char(rng, c):
    hexa = "%02x" % ord(c)
    return "%" + "".join(rng.choice((d.lower(), d.upper())) for d in hexa)


def _spell_segment(rng, segment, kinds, intensity):
    """SEGMENT with zero or more mutations, more of them as INTENSITY
    (0-1) grows; adds their classes to KINDS."""
    out = segment
    if segment and rng.random() < 0.25 * intensity:
        out = "".join(_encode_char(rng, c) if rng.random() < 0.4 else c
                      for c in out)
        if out != segment:
            kinds.add("encoded-letters")
    if segment and rng.random() < 0.08 * intensity:
        out = rng.choice((out.upper(), out.capitalize(), out.swapcase()))
        kinds.add("case")
    roll = rng.random() / intensity
    if roll < 0.30:
        dots = rng.choice((".", "..", "...", "%2e", "%2E", ".%2e", "%2e%2E."))
        out += dots
        kinds.add("trailing-dots")
        if "%" in dots:
            kinds.add("encoded-dots")
    elif roll < 0.34:
        out += rng.choice(("%00", "%00x", "%00/../x"))
        kinds.add("nul")
    elif roll < 0.37:
        out += rng.choice(("%09", "%0d%0a", "%7f", "%1b"))
        kinds.add("control")
    elif roll < 0.39:
        out += rng.choice(("%20", "%20.", ".%20"))
        kinds.add("space")
    elif roll < 0.41:
        # civetweb 1.16 reads '+' in a path as a space (Orthanc 1.12.7+).
        out += rng.choice(("+", "+.", "%2B", "+%20"))
        kinds.add("plus")
    elif roll < 0.44:
        out += rng.choice(("\xe9", "\x80", "\xff", " "))
        kinds.add("raw-byte")
    elif roll < 0.47:
        out += rng.choice(("%zz", "%4", "%", "%%41", "%g0"))
        kinds.add("bad-escape")
    elif roll < 0.50:
        out += rng.choice((";", ";x", "%3b", ";.", "%3B.."))
        kinds.add("semicolon")
    elif roll < 0.53:
        out += rng.choice(("%C3%A9", "%ff", "%c3"))
        kinds.add("non-ascii")
    return out


def _separator(rng, kinds, intensity):
    roll = rng.random()
    if roll > 0.45 * intensity:
        return "/"
    choices = [
        ("//", "empty-segments"), ("///", "empty-segments"),
        ("\\", "backslash"), ("/\\", "backslash"),
        ("%5c", "encoded-separator"), ("%5C", "encoded-separator"),
        ("%2f", "encoded-separator"), ("%2F", "encoded-separator"),
        ("/./", "dot-segments"), ("/%2e/", "dot-segments"),
        ("/.../", "dot-segments"), ("/..../", "dot-segments"),
        ("/x/../", "dot-segments"), ("/x./../", "dot-segments"),
        ("/x/.../../", "dot-segments"), ("//../", "dot-segments"),
        ("/x//../", "dot-segments"), ("/%2e%2e/", "dot-segments"),
        ("/..%2f", "dot-segments"), ("\\..\\", "dot-segments"),
        ("/.%2e.%2f", "dot-segments"),
    ]
    text, kind = rng.choice(choices)
    kinds.add(kind)
    if "%2" in text or "%5" in text:
        kinds.add("encoded-separator" if "%2f" in text.lower()
                  or "%5c" in text.lower() else "encoded-dots")
    return text


def _suffix(rng, kinds, intensity):
    roll = rng.random()
    if roll > 0.30 * intensity:
        return ""
    choices = [
        ("/", "plain"), ("/.", "dot-segments"), ("/..", "dot-segments"),
        ("/...", "dot-segments"), ("/%2e", "encoded-dots"),
        ("#", "fragment"), ("#x", "fragment"), ("/#/../x", "fragment"),
        ("?x=1", "plain"), ("?x=../..", "plain"),
    ]
    text, kind = rng.choice(choices)
    kinds.add(kind)
    return text


# Query strings that releases read differently (query_reading.h): encoded
# '&', '=', '_', '+' and NUL, a '+' in the name or value, encoded twice.
ENCODED_OVERRIDES = (
    "x=%26_method%3DDELETE", "x=%26_method%3Dput", "_method%3Ddelete",
    "%5Fmethod=delete", "%5fmethod=put", "_method=del%65te",
    "x=1%26_method=delete", "_method=delete%00", "x=%00&_method=delete",
    "_method=delete+", "_method+=delete", "%255Fmethod=put",
    "_me%74hod=delete", "_me%4khod=delete", "x=%3D%26_method%3Ddelete",
    "_method=delete&_method=put", "_method%3D=delete", "_method=%20delete",
)
# Escapes that cannot make an override: the module forwards them as sent.
HARMLESS_QUERIES = (
    "a=%3D&b=%26", "q=a+b%2Bc", "PatientName=Doe%5EJ*", "x=%2500",
    "expand&limit=10", "x=%20", "x=%E9", "%41=1",
)


def _method(rng, kinds, intensity):
    """(method, extra header lines, extra query) of a request."""
    roll = rng.random() / intensity
    if roll > 0.36:
        return "GET", [], None
    if roll < 0.08:
        return rng.choice(("POST", "PUT", "DELETE")), [], None
    if roll > 0.30:
        kinds.add("query")
        return (rng.choice(("GET", "GET", "POST")), [],
                rng.choice(ENCODED_OVERRIDES + HARMLESS_QUERIES))
    kinds.add("override")
    if roll < 0.19:
        return "GET", [], rng.choice(("_method=delete", "_method=DELETE",
                                      "_method=put", "x=1&_method=delete"))
    name = rng.choice(("X-HTTP-Method-Override", "x-http-method-override"))
    return (rng.choice(("POST", "GET")),
            [f"{name}: {rng.choice(('DELETE', 'PUT', 'delete'))}"], None)


class Target:
    """One generated request: METHOD, the TARGET below the prefix (starts
    with a separator, or is empty for the prefix itself), extra HEADERS and
    the CLASSES it belongs to."""

    def __init__(self, number, method, target, headers, classes):
        self.number = number
        self.method = method
        self.target = target
        self.headers = headers
        self.classes = classes

    def __repr__(self):
        return (f"#{self.number} {self.method} {self.target!r} "
                f"{self.headers} {sorted(self.classes)}")


def generate(count, seed=20261201):
    """COUNT targets; the same COUNT and SEED give the same targets."""
    rng = random.Random(seed)
    targets = []
    for number in range(count):
        kinds = set()
        # Half the targets change little, so that each class is also seen
        # alone; the others pile tricks up.
        intensity = rng.choice((0.15, 0.3, 0.6, 1.0))
        route = rng.choice(ROUTES)
        text = ""
        for segment in route:
            text += (_separator(rng, kinds, intensity)
                     + _spell_segment(rng, segment, kinds, intensity))
        text = (text or "/") + _suffix(rng, kinds, intensity)
        if not text.startswith("/"):
            text = "/" + text
        method, headers, override_query = _method(rng, kinds, intensity)
        if override_query:
            text += ("&" if "?" in text else "?") + override_query
        targets.append(Target(number, method, text, headers,
                              kinds or {"plain"}))
    return targets
