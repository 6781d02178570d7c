"""X.400 non-delivery codes and their Internet equivalents (RFC 2156 MIXER).

- :data:`REASONS` and :data:`DIAGNOSTICS`: the names of every value of the
  X.411 (1999) ``NonDeliveryReasonCode`` and ``NonDeliveryDiagnosticCode``,
  spelt as in the ASN.1 module (``MTSAbstractService``).
- :func:`status_for`: reason/diagnostic -> RFC 3463 status, by the table of
  RFC 2156 5.3.8.2 (:data:`X400_TO_STATUS`).
- :func:`x400_for`: RFC 3463 status -> reason/diagnostic, by the table of
  RFC 2156 5.1.8.4 (:data:`STATUS_TO_X400`).
- :func:`notify_to_requests` / :func:`requests_to_notify`: the SMTP NOTIFY
  parameter (RFC 3461 4.1) and the originator report request bits (RFC 2156
  Appendix A 3.1 and 3.2).
- :func:`diagnostic_code_text` / :func:`parse_diagnostic_code_text`: the
  ``dr-diagnostic`` text of a DSN ``Diagnostic-Code`` field (RFC 2156
  5.3.8.1).

The two status tables are not inverses of each other.  A reason/diagnostic
pair survives X.400 -> DSN status -> X.400 only where 5.1.8.4 maps the status
of 5.3.8.2 back to the same pair; :data:`LOSSLESS_PAIRS` lists them.  The
others degrade as the tables say, for example 2/9 (implicit conversion
prohibited) -> 5.6.3 -> 2/8 (conversion impractical), 1/4 (recipient
unavailable) stays 1/4, but 4/35 -> 5.1.0 -> 1/None.  The DSN writer
therefore also carries the exact pair in ``Diagnostic-Code`` (see
:mod:`gateway.x400.reports`), which a MIXER gateway may map back (5.1.8.5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway.x400.model import ReportRequest

__all__ = [
    "DIAGNOSTICS",
    "LOSSLESS_PAIRS",
    "REASONS",
    "STATUS_TO_X400",
    "X400_TO_STATUS",
    "diagnostic_code_text",
    "notify_to_requests",
    "parse_diagnostic_code_text",
    "requests_to_notify",
    "status_for",
    "x400_for",
]

# --- X.411 names ---------------------------------------------------------------

# X.411 (1999) MTSAbstractService NonDeliveryReasonCode, all values.
REASONS: dict[int, str] = {
    0: "transfer-failure",
    1: "unable-to-transfer",
    2: "conversion-not-performed",
    3: "physical-rendition-not-performed",
    4: "physical-delivery-not-performed",
    5: "restricted-delivery",
    6: "directory-operation-unsuccessful",
    7: "deferred-delivery-not-performed",
    8: "transfer-failure-for-security-reason",
}

# X.411 (1999) MTSAbstractService NonDeliveryDiagnosticCode, all values.
DIAGNOSTICS: dict[int, str] = {
    0: "unrecognised-OR-name",
    1: "ambiguous-OR-name",
    2: "mts-congestion",
    3: "loop-detected",
    4: "recipient-unavailable",
    5: "maximum-time-expired",
    6: "encoded-information-types-unsupported",
    7: "content-too-long",
    8: "conversion-impractical",
    9: "implicit-conversion-prohibited",
    10: "implicit-conversion-not-subscribed",
    11: "invalid-arguments",
    12: "content-syntax-error",
    13: "size-constraint-violation",
    14: "protocol-violation",
    15: "content-type-not-supported",
    16: "too-many-recipients",
    17: "no-bilateral-agreement",
    18: "unsupported-critical-function",
    19: "conversion-with-loss-prohibited",
    20: "line-too-long",
    21: "page-split",
    22: "pictorial-symbol-loss",
    23: "punctuation-symbol-loss",
    24: "alphabetic-character-loss",
    25: "multiple-information-loss",
    26: "recipient-reassignment-prohibited",
    27: "redirection-loop-detected",
    28: "dl-expansion-prohibited",
    29: "no-dl-submit-permission",
    30: "dl-expansion-failure",
    31: "physical-rendition-attributes-not-supported",
    32: "undeliverable-mail-physical-delivery-address-incorrect",
    33: "undeliverable-mail-physical-delivery-office-incorrect-or-invalid",
    34: "undeliverable-mail-physical-delivery-address-incomplete",
    35: "undeliverable-mail-recipient-unknown",
    36: "undeliverable-mail-recipient-deceased",
    37: "undeliverable-mail-organization-expired",
    38: "undeliverable-mail-recipient-refused-to-accept",
    39: "undeliverable-mail-recipient-did-not-claim",
    40: "undeliverable-mail-recipient-changed-address-permanently",
    41: "undeliverable-mail-recipient-changed-address-temporarily",
    42: "undeliverable-mail-recipient-changed-temporary-address",
    43: "undeliverable-mail-new-address-unknown",
    44: "undeliverable-mail-recipient-did-not-want-forwarding",
    45: "undeliverable-mail-originator-prohibited-forwarding",
    46: "secure-messaging-error",
    47: "unable-to-downgrade",
    48: "unable-to-complete-transfer",
    49: "transfer-attempts-limit-reached",
    50: "incorrect-notification-type",
    51: "dl-expansion-prohibited-by-security-policy",
    52: "forbidden-alternate-recipient",
    53: "security-policy-violation",
    54: "security-services-refusal",
    55: "unauthorised-dl-member",
    56: "unauthorised-dl-name",
    57: "unauthorised-originally-intended-recipient-name",
    58: "unauthorised-originator-name",
    59: "unauthorised-recipient-name",
    60: "unreliable-system",
    61: "authentication-failure-on-subject-message",
    62: "decryption-failed",
    63: "decryption-key-unobtainable",
    64: "double-envelope-creation-failure",
    65: "double-enveloping-message-restoring-failure",
    66: "failure-of-proof-of-message",
    67: "integrity-failure-on-subject-message",
    68: "invalid-security-label",
    69: "key-failure",
    70: "mandatory-parameter-absence",
    71: "operation-security-failure",
    72: "repudiation-failure-of-message",
    73: "security-context-failure",
    74: "token-decryption-failed",
    75: "token-error",
    76: "unknown-security-label",
    77: "unsupported-algorithm-identifier",
    78: "unsupported-security-policy",
}

# --- RFC 2156 5.3.8.2: X.400 reason/diagnostic -> DSN status -------------------

# The table of RFC 2156 5.3.8.2, one row per line of the RFC, in its order and
# with its C/D notation: reason "/" diagnostic, "Any" for any (or no)
# diagnostic of that reason, "a-b" for a range.  A pair is looked up first;
# a reason's "Any" row is the fallback for every pair not listed (1/32
# -> 5.0.0, not 5.1.0: the 32-45 row is for reason 4 only).
#
#   C/D        DSN code   X.400 meaning (as the RFC words it)
_X400_TO_STATUS_ROWS: tuple[tuple[str, str, str], ...] = (
    ("0/Any", "4.4.0", "Transfer failure (may be temporary)"),
    ("1/Any", "5.0.0", "Unable to transfer"),
    ("2/Any", "5.6.3", "Conversion not performed"),
    ("3/Any", "5.6.0", "Physical rendition not performed"),
    ("4/Any", "5.1.0", "Physical delivery not performed"),
    ("5/Any", "5.7.1", "Restricted delivery"),
    ("6/Any", "5.4.3", "Directory operation unsuccessful"),
    ("7/Any", "5.3.3", "Deferred delivery not performed"),
    ("1/0", "5.1.1", "Unrecognized OR name"),
    ("1/1", "5.1.4", "Ambiguous OR name"),
    ("1/2", "4.3.1", "MTS congestion"),
    ("1/3", "5.4.6", "Loop detected"),
    ("1/4", "4.2.1", "Recipient unavailable"),
    ("1/5", "4.4.7", "Delivery time expired"),
    ("1/6", "5.6.1", "Encoded information types unsupported"),
    ("1/7", "5.2.3", "Content too long"),
    ("2/8", "5.6.3", "Conversion impractical"),
    ("2/9", "5.6.3", "Conversion prohibited"),
    ("1/10", "5.6.3", "Implicit conversion not subscribed"),
    ("1/11", "5.5.2", "Invalid arguments"),
    ("1/12", "5.5.2", "Content syntax error"),
    ("1/13", "5.5.2", "Size constraint violation"),
    ("1/14", "5.5.0", "Protocol violation"),
    ("1/15", "5.6.1", "Content type not supported"),
    ("1/16", "5.5.3", "Too many recipients"),
    ("1/17", "5.4.4", "No bilateral agreement"),
    ("1/18", "5.3.3", "Unsupported critical function"),
    ("2/19", "5.6.2", "Conversion with loss prohibited"),
    ("2/20", "5.6.0", "Line too long"),
    ("2/21", "5.6.0", "Page split"),
    ("2/22", "5.6.2", "Pictorial symbol loss"),
    ("2/23", "5.6.2", "Punctuation symbol loss"),
    ("2/24", "5.6.2", "Alphabetic character loss"),
    ("2/25", "5.6.2", "Multiple information loss"),
    ("1/26", "5.4.0", "Recipient reassignment prohibited"),
    ("1/27", "5.4.6", "Redirection loop detected"),
    ("1/28", "5.7.2", "DL expansion prohibited"),
    ("1/29", "5.7.1", "No DL submit permission"),
    ("1/30", "4.2.4", "DL expansion failure"),
    ("4/31", "5.6.0", "Physical rendition attrs not supported"),
    ("4/32-45", "5.1.0", "Various physical mail stuff"),
    ("1/43", "5.1.6", "New address unknown"),
    ("1/46", "5.7.0", "Secure messaging error"),
    ("2/47", "5.3.3", "Unable to downgrade"),
    ("0/48", "5.3.4", "Unable to complete transfer"),
    ("0/49", "4.4.7", "Transfer attempts limit reached"),
)

# Not in RFC 2156 (1998): reason 8, transfer-failure-for-security-reason, came
# with the X.411 security amendments.  It is reported as a security failure.
_REASON_8_STATUS = "5.7.0"
# A reason beyond X.411's list: unable to transfer, reason unknown.
_UNKNOWN_REASON_STATUS = "5.0.0"

_PAIR = re.compile(r"^(\d+)/(Any|\d+)(?:-(\d+))?$")


def _expand_pairs(rows: Iterable[tuple[str, str, str]]) -> dict[tuple[int, int | None], str]:
    table: dict[tuple[int, int | None], str] = {}
    for pair, status, _meaning in rows:
        match = _PAIR.match(pair)
        if match is None:  # pragma: no cover - a typo in the table above
            raise ValueError(f"bad C/D pair {pair!r}")
        reason, first, last = match.groups()
        if first == "Any":
            table[(int(reason), None)] = status
            continue
        for diagnostic in range(int(first), int(last or first) + 1):
            table[(int(reason), diagnostic)] = status
    return table


# (reason, diagnostic) -> status; (reason, None) is the reason's "Any" row.
X400_TO_STATUS: dict[tuple[int, int | None], str] = _expand_pairs(_X400_TO_STATUS_ROWS)


def status_for(reason: int, diagnostic: int | None) -> str:
    """The RFC 3463 status of an X.400 non-delivery (RFC 2156 5.3.8.2).

    The exact reason/diagnostic pair if the table lists it, else the
    reason's ``n/Any`` row; reason 8 (not in RFC 2156) gives ``5.7.0``, an
    unknown reason ``5.0.0``."""
    if diagnostic is not None:
        exact = X400_TO_STATUS.get((reason, diagnostic))
        if exact is not None:
            return exact
    fallback = X400_TO_STATUS.get((reason, None))
    if fallback is not None:
        return fallback
    return _REASON_8_STATUS if reason == 8 else _UNKNOWN_REASON_STATUS


# --- RFC 2156 5.1.8.4: DSN status -> X.400 reason/diagnostic -------------------

# The table of RFC 2156 5.1.8.4, one row per line of the RFC, in its order.
# "X" is any class (4 or 5); the X.400 code is "reason/diagnostic" with
# "None" for no diagnostic; None for the two codes the RFC says are only for
# positive reports (they are looked up as "X.n.0", like an unknown code).
#
#   DSN code   X.400 code   DSN meaning (as the RFC words it)
_STATUS_TO_X400_ROWS: tuple[tuple[str, str | None, str], ...] = (
    ("X.0.0", "1/None", "Other status"),
    ("X.1.0", "1/None", "Other Address Status"),
    ("X.1.1", "1/0", "Bad mailbox address"),
    ("X.1.2", "1/0", "Bad system address"),
    ("X.1.3", "1/0", "Bad mailbox address syntax"),
    ("X.1.4", "1/1", "Mailbox address ambiguous"),
    ("X.1.5", None, "Only used for positive reports, not applicable"),
    ("X.1.6", "1/43", "Destination mailbox has moved"),
    ("X.1.7", "1/11", "Bad sender's mailbox address syntax"),
    ("X.1.8", "1/11", "Bad sender's system address"),
    ("X.2.0", "1/None", "Other or undefined mailbox status"),
    ("X.2.1", "1/4", "Mailbox disabled, not accepting"),
    ("X.2.2", "1/4", "Mailbox full"),
    ("X.2.3", "1/7", "Message length exceeds admin limit."),
    ("X.2.4", "1/30", "Mailing list expansion problem"),
    ("X.3.0", "0/None", "Other or undefined system status"),
    ("X.3.1", "1/2", "System full"),
    ("X.3.2", "1/2", "System not accepting network messages"),
    ("X.3.3", "1/18", "System not capable of selected feat"),
    ("X.3.4", "1/7", "Message too big for system"),
    ("X.3.5", "1/None", "System incorrectly configured"),
    ("X.4.0", "0/None", "Other or undefined network or routing"),
    ("X.4.1", "0/None", "No answer from host"),
    ("X.4.2", "0/None", "Bad connection"),
    ("X.4.3", "6/None", "Routing server failure"),
    ("X.4.4", "0/None", "Unable to route"),  # the RFC prints "X.4.4."
    ("X.4.5", "1/2", "Network congestion"),
    ("X.4.6", "1/3", "Routing loop detected"),
    ("X.4.7", "1/5", "Delivery time expired"),
    ("X.5.0", "1/None", "Other or undefined protocol status"),
    ("X.5.1", "1/14", "Invalid command"),
    ("X.5.2", "1/14", "Syntax error"),
    ("X.5.3", "1/16", "Too many recipients"),
    ("X.5.4", "1/14", "Invalid command arguments"),
    ("X.5.5", "1/18", "Wrong protocol version"),
    ("X.6.0", "2/None", "Other or undefined media error"),
    ("X.6.1", "1/6", "Media not supported"),
    ("X.6.2", "1/9", "Conversion required and prohibited"),
    ("X.6.3", "2/8", "Conversion required but not supported"),
    ("X.6.4", None, "Conversion with loss performed (positive only)"),
    ("X.6.5", "2/47", "Conversion failed"),
    ("X.7.0", "1/46", "Other or undefined security status"),
    ("X.7.1", "1/29", "Delivery not authorized, message refused"),
    ("X.7.2", "1/28", "Mailing list expansion prohibited"),
    ("X.7.3", "1/46", "Security conversion required but not possible"),
    ("X.7.4", "1/46", "Security features not supported"),
    ("X.7.5", "1/46", "Cryptographic failure"),
    ("X.7.6", "1/46", "Cryptographic algorithm not supported"),
    ("X.7.7", "1/46", "Message integrity failure"),
)

# The code of last resort: X.0.0 (RFC 2156 5.1.8.4, "Other status").
_DEFAULT_X400: tuple[int, int | None] = (1, None)


def _expand_statuses(
    rows: Iterable[tuple[str, str | None, str]],
) -> dict[tuple[int, int], tuple[int, int | None] | None]:
    table: dict[tuple[int, int], tuple[int, int | None] | None] = {}
    for code, x400, _meaning in rows:
        _, subject, detail = code.split(".")
        if x400 is None:
            table[(int(subject), int(detail))] = None
            continue
        reason, diagnostic = x400.split("/")
        table[(int(subject), int(detail))] = (
            int(reason),
            None if diagnostic == "None" else int(diagnostic),
        )
    return table


# (subject, detail) -> (reason, diagnostic), or None for a positive-only code.
STATUS_TO_X400: dict[tuple[int, int], tuple[int, int | None] | None] = _expand_statuses(
    _STATUS_TO_X400_ROWS
)

# RFC 3463 2: class "." subject "." detail (1 to 3 digits each).
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


def x400_for(status: str) -> tuple[int, int | None]:
    """The X.400 reason and diagnostic of an RFC 3463 status (RFC 2156
    5.1.8.4), e.g. ``"5.6.2"`` -> ``(1, 9)``.

    The class (4 or 5) does not matter.  A status the table does not list
    (or lists as "positive only") maps as ``X.n.0`` (``5.2.37`` -> as
    ``5.2.0`` -> ``(1, None)``); a subject without an ``X.n.0`` row, or text
    that is not a status at all, as ``X.0.0`` -> ``(1, None)``.  Anything
    after the code (a comment) is ignored."""
    match = _STATUS.match(status)
    if match is None:
        return _DEFAULT_X400
    subject, detail = int(match.group(2)), int(match.group(3))
    exact = STATUS_TO_X400.get((subject, detail))
    if exact is not None:
        return exact
    general = STATUS_TO_X400.get((subject, 0))
    return general if general is not None else _DEFAULT_X400


def _lossless_pairs() -> frozenset[tuple[int, int | None]]:
    pairs = {(r, None) for r in REASONS} | {(r, d) for r in REASONS for d in DIAGNOSTICS}
    return frozenset(p for p in pairs if x400_for(status_for(*p)) == p)


# The reason/diagnostic pairs that survive status_for then x400_for unchanged
# (computed from the two tables; every other pair degrades).
LOSSLESS_PAIRS: frozenset[tuple[int, int | None]] = _lossless_pairs()


# --- RFC 2156 Appendix A: NOTIFY <-> originator report request -----------------

_NOTIFY_WORDS = frozenset({"SUCCESS", "FAILURE", "DELAY", "NEVER"})


def notify_to_requests(
    notify: frozenset[str] | None, default: ReportRequest = "non-delivery-report"
) -> ReportRequest:
    """The originator-report-request bits for an SMTP NOTIFY (RFC 2156 App.
    A 3.1): NEVER (or the empty set, as :class:`gateway.envelope.Recipient`
    holds it) -> both bits zero; SUCCESS present -> the report bit;
    otherwise (FAILURE and/or DELAY) -> the non-delivery-report bit.

    Without NOTIFY (``None``) the recipient gets what RFC 3461 4.1 gives it,
    a failure report, so the non-delivery-report bit: App. A 3.1 applies the
    mapping "in all cases" once the gateway uses NOTIFY, and the
    ``delivery-report`` default of 4.6.1 is for a gateway that does not (it
    would send an unrequested success report to every Internet sender).
    *default* is that answer for ``None`` only: a message's RFC 2156 App. C
    Generate-Delivery-Report / Prevent-NonDelivery-Report fields may change
    it (see :func:`gateway.x400.envelope_fields.envelope_from_internet`), an
    explicit NOTIFY always wins.  Keywords are case-insensitive."""
    if notify is None:
        return default
    words = {w.strip().upper() for w in notify} & _NOTIFY_WORDS
    if not words or "NEVER" in words:
        return "no-report"
    if "SUCCESS" in words:
        return "report"
    return "non-delivery-report"


def requests_to_notify(request: ReportRequest) -> frozenset[str] | None:
    """The SMTP NOTIFY for an originator-report-request (RFC 2156 App. A
    3.2): both bits zero -> NEVER (the empty set); the non-delivery-report
    bit -> FAILURE; the report bit -> SUCCESS and FAILURE.

    App. A 3.2 says "SUCCESS" for the report bit, but the X.411 report bit
    asks for delivery *and* non-delivery reports (X.411 12.2.1.1.1.x), and
    NOTIFY=SUCCESS alone would suppress the failure report (RFC 3461 4.1);
    so FAILURE is added.  Never ``None``: the gateway always says what the
    X.400 originator asked for."""
    if request == "no-report":
        return frozenset()
    if request == "report":
        return frozenset({"SUCCESS", "FAILURE"})
    return frozenset({"FAILURE"})


# --- RFC 2156 5.3.8.1: the dr-diagnostic text --------------------------------


def diagnostic_code_text(reason: int, diagnostic: int | None) -> str:
    """``dr-diagnostic`` (RFC 2156 5.3.8.1): ``Reason 1 (unable-to-transfer);
    Diagnostic 0 (unrecognised-OR-name)``; labelled integers with the X.411
    names (an unknown value is written as a bare number)."""
    text = f"Reason {_labelled(reason, REASONS)}"
    if diagnostic is not None:
        text += f"; Diagnostic {_labelled(diagnostic, DIAGNOSTICS)}"
    return text


def _labelled(value: int, names: dict[int, str]) -> str:
    name = names.get(value)
    return f"{value} ({name})" if name is not None else str(value)


_DR_DIAGNOSTIC = re.compile(
    r"^\s*Reason\s+(\d+)?\s*(?:\(([^()]*)\))?\s*"
    r"(?:;\s*Diagnostic\s+(\d+)?\s*(?:\(([^()]*)\))?)?",
    re.IGNORECASE,
)


def parse_diagnostic_code_text(text: str) -> tuple[int, int | None] | None:
    """The reason and diagnostic of a ``dr-diagnostic`` text, or None.

    Lenient as RFC 2156's own examples need: the number is optional in a
    labelled integer (``labelled-integer-2 = [number] "(" key ")"``) and the
    keys are compared without case, hyphens and the "OR"/"ORName" spelling
    variants (``Unrecognised-ORName``)."""
    match = _DR_DIAGNOSTIC.match(text)
    if match is None:
        return None
    reason = _value(match.group(1), match.group(2), REASONS)
    if reason is None:
        return None
    if match.group(3) is None and match.group(4) is None:
        return reason, None
    return reason, _value(match.group(3), match.group(4), DIAGNOSTICS)


def _key(name: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return key.replace("ornames", "orname").replace("orname", "or")


def _value(number: str | None, name: str | None, names: dict[int, str]) -> int | None:
    if number is not None:
        return int(number)
    if name is None:
        return None
    wanted = _key(name)
    for value, known in names.items():
        if _key(known) == wanted:
            return value
    return None
