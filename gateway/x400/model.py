"""X.400 values as plain Python: the neutral model between ASN.1 and MIME.

The translator works on these frozen dataclasses, never on pyasn1 objects:
:mod:`gateway.x400.codec` converts MTS-APDUs and P22 contents (pyasn1, X.411
and X.420) to and from this model, and the MIXER mapping (RFC 2156) converts
the model to and from Internet mail.  Keeping pyasn1 at one edge keeps the
mapping typed (``mypy --strict``) and lets tests build values directly.

Conventions:

- Times are kept as the UTCTime/GeneralizedTime text that was sent (``raw``):
  real MTAs send odd dates (three-digit years, year 70, P1-WIRE.md) and a
  decoder must not reject a message for one; :mod:`gateway.x400.timefmt`
  interprets them.
- Encoded information types are names: the X.411 BuiltInEncodedInformationTypes
  bit names (``"ia5-text"``, ``"g3-facsimile"``...) and, for extended ones,
  dotted object identifiers (``"2.6.1.12.0"``).
- Object identifiers are dotted strings.
- A ``None`` field is absent on the wire; an empty tuple is an empty (but
  present) list only where the field says so.
- Extensions that the gateway does not type are kept as :class:`Extension`
  with their encoded value, so they can be passed on or reported intact
  (X.411 9.1, criticality honoured by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gateway.x400.orname import ORAddress

__all__ = [
    "IPM",
    "IPN",
    "BinaryPart",
    "BodyPart",
    "DLExpansion",
    "Delivered",
    "Extension",
    "FilePart",
    "GlobalDomainId",
    "Heading",
    "IPMIdentifier",
    "MTSIdentifier",
    "Message",
    "MessageEnvelope",
    "MessagePart",
    "NonDelivered",
    "NonReceipt",
    "ORDescriptor",
    "ORName",
    "OpaquePart",
    "Probe",
    "Receipt",
    "RecipientSpecifier",
    "Redirection",
    "Report",
    "ReportRequest",
    "ReportedRecipient",
    "TextPart",
    "TraceElement",
    "TransferRecipient",
]

# X.411 PerMessageIndicators bit names (12.2.1.1.1.x), in bit order.
PER_MESSAGE_INDICATORS = (
    "disclosure-of-other-recipients",
    "implicit-conversion-prohibited",
    "alternate-recipient-allowed",
    "content-return-request",
    "reserved",
    "bit-5",
    "bit-6",
    "service-message",
)

# X.411 PerRecipientIndicators: the originating-MTA and originator report
# requests are two bits each (bits 1,2 and 3,4); as one word each:
# "report" (bit 1 / 3), "non-delivery-report" (bit 2 / 4), "no-report".
ReportRequest = Literal["report", "non-delivery-report", "no-report"]

Priority = Literal["normal", "non-urgent", "urgent"]
Criticality = frozenset[Literal["submission", "transfer", "delivery"]]


@dataclass(frozen=True)
class GlobalDomainId:
    """X.411 GlobalDomainIdentifier: country, ADMD and optional PRMD."""

    country: str
    admd: str
    prmd: str | None = None

    def as_or(self) -> ORAddress:
        return ORAddress(country=self.country, admd=self.admd, prmd=self.prmd)


@dataclass(frozen=True)
class MTSIdentifier:
    """X.411 MTSIdentifier (message, report or probe identifier)."""

    domain: GlobalDomainId
    local: str  # LocalIdentifier, IA5, at most ub-local-id-length (32)


@dataclass(frozen=True)
class ORName:
    """X.411 ORName: an O/R address and, optionally, a directory name
    (kept as RFC 4514-style text; MIXER only shows it in a comment)."""

    address: ORAddress
    directory_name: str | None = None


@dataclass(frozen=True)
class Extension:
    """An extension the gateway does not type (X.411 ExtensionField).

    ``type`` is the standard-extension number (int) or the private
    extension's OID (dotted str); ``value`` is the BER of the value as
    received.  ``criticality`` names the criticality bits set."""

    type: int | str
    value: bytes
    criticality: Criticality = frozenset()


@dataclass(frozen=True)
class TraceElement:
    """One element of trace (external: ``mta`` is None) or internal trace
    (``mta`` names the MTA) -- X.411 TraceInformationElement and
    X.411 (MTA service) InternalTraceInformationElement."""

    domain: GlobalDomainId
    arrival: str  # raw UTCTime
    action: Literal["relayed", "rerouted"] = "relayed"
    mta: str | None = None
    attempted_domain: GlobalDomainId | None = None
    attempted_mta: str | None = None
    deferred: str | None = None
    converted_eits: tuple[str, ...] | None = None
    other_actions: frozenset[Literal["redirected", "dl-operation"]] = frozenset()


@dataclass(frozen=True)
class Redirection:
    """One element of redirection-history (X.411 Redirection)."""

    intended: ORName
    time: str
    reason: Literal[
        "recipient-assigned-alternate-recipient",
        "originator-requested-alternate-recipient",
        "recipient-MD-assigned-alternate-recipient",
        "directory-look-up",
        "alias",
    ]


@dataclass(frozen=True)
class DLExpansion:
    """One element of dl-expansion-history: a list's name and when it was
    expanded."""

    name: ORName
    time: str


@dataclass(frozen=True)
class TransferRecipient:
    """X.411 PerRecipientMessageTransferFields (and probe fields)."""

    name: ORName
    number: int  # originally-specified-recipient-number, 1..
    responsibility: bool = True
    mta_report: ReportRequest = "non-delivery-report"
    originator_report: ReportRequest = "non-delivery-report"
    explicit_conversion: int | None = None
    originally_intended: ORName | None = None  # extension, redirection
    redirection_history: tuple[Redirection, ...] = ()
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True)
class MessageEnvelope:
    """X.411 MessageTransferEnvelope (also ProbeTransferEnvelope, whose
    identifier is the probe identifier)."""

    identifier: MTSIdentifier
    originator: ORName
    recipients: tuple[TransferRecipient, ...]
    trace: tuple[TraceElement, ...]  # SEQUENCE order: oldest first
    content_type: int | str = 22  # built-in number or extended OID
    original_eits: tuple[str, ...] | None = None
    content_identifier: str | None = None
    priority: Priority = "normal"
    indicators: frozenset[str] = frozenset()  # PER_MESSAGE_INDICATORS names
    deferred_delivery: str | None = None
    internal_trace: tuple[TraceElement, ...] = ()
    # typed standard extensions (X.411 9.x)
    content_correlator: str | None = None
    latest_delivery: str | None = None
    originator_return_address: ORAddress | None = None
    conversion_with_loss_prohibited: bool = False
    recipient_reassignment_prohibited: bool = False
    dl_expansion_prohibited: bool = False
    dl_expansion_history: tuple[DLExpansion, ...] = ()
    rfc822_headers: tuple[str, ...] = ()  # MIXER dsn-header-list, as lines
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True)
class Message:
    """X.411 Message: the envelope and the content octets (for content
    type 22 and 2 a P22/P2 InformationObject)."""

    envelope: MessageEnvelope
    content: bytes


@dataclass(frozen=True)
class Probe:
    envelope: MessageEnvelope
    content_length: int | None = None


# -- Reports (X.411 ReportTransferEnvelope + ReportTransferContent)


@dataclass(frozen=True)
class Delivered:
    """X.411 DeliveryReport fields of one recipient."""

    time: str  # message-delivery-time
    type_of_user: int = 0  # TypeOfMTSUser: public(0) private(1) ms(2) dl(3) pdau(4) ...


@dataclass(frozen=True)
class NonDelivered:
    """X.411 NonDeliveryReport fields of one recipient."""

    reason: int  # NonDeliveryReasonCode
    diagnostic: int | None = None  # NonDeliveryDiagnosticCode


@dataclass(frozen=True)
class ReportedRecipient:
    """X.411 PerRecipientReportTransferFields."""

    actual: ORName  # actual-recipient-name
    number: int  # originally-specified-recipient-number
    outcome: Delivered | NonDelivered
    arrival: str  # last-trace-information arrival-time
    converted_eits: tuple[str, ...] | None = None
    mta_report: ReportRequest = "non-delivery-report"
    originator_report: ReportRequest = "non-delivery-report"
    originally_intended: ORName | None = None
    supplementary_info: str | None = None
    redirection_history: tuple[Redirection, ...] = ()
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True)
class Report:
    """X.411 Report: envelope fields and content fields in one value."""

    identifier: MTSIdentifier  # report-identifier
    destination: ORName  # report-destination-name
    trace: tuple[TraceElement, ...]
    subject: MTSIdentifier  # subject-identifier
    recipients: tuple[ReportedRecipient, ...]
    internal_trace: tuple[TraceElement, ...] = ()
    subject_intermediate_trace: tuple[TraceElement, ...] = ()
    original_eits: tuple[str, ...] | None = None
    content_type: int | str | None = None
    content_identifier: str | None = None
    returned_content: bytes | None = None
    additional_information: bytes | None = None
    content_correlator: str | None = None
    rfc822_headers: tuple[str, ...] = ()  # MIXER dsn-header-list
    extensions: tuple[Extension, ...] = ()


# -- P22 (X.420) interpersonal messages


@dataclass(frozen=True)
class ORDescriptor:
    """X.420 ORDescriptor: formal name and/or free-form name, telephone."""

    formal: ORName | None = None
    free_form: str | None = None
    telephone: str | None = None


@dataclass(frozen=True)
class RecipientSpecifier:
    """X.420 RecipientSpecifier."""

    recipient: ORDescriptor
    notifications: frozenset[Literal["rn", "nrn", "ipm-return", "an-supported"]] = frozenset()
    reply_requested: bool = False


@dataclass(frozen=True)
class IPMIdentifier:
    """X.420 IPMIdentifier: user (optional) and user-relative identifier."""

    user: ORAddress | None = None
    local: str | None = None


@dataclass(frozen=True)
class Heading:
    """X.420 Heading, with the heading extensions MIXER maps."""

    this_ipm: IPMIdentifier
    originator: ORDescriptor | None = None
    authorizing_users: tuple[ORDescriptor, ...] = ()
    primary: tuple[RecipientSpecifier, ...] = ()
    copy: tuple[RecipientSpecifier, ...] = ()
    blind_copy: tuple[RecipientSpecifier, ...] | None = None  # () = present, empty
    replied_to: IPMIdentifier | None = None
    obsoleted: tuple[IPMIdentifier, ...] = ()
    related: tuple[IPMIdentifier, ...] = ()
    subject: str | None = None
    expiry_time: str | None = None
    reply_time: str | None = None
    reply_recipients: tuple[ORDescriptor, ...] = ()
    importance: Literal["low", "normal", "high"] | None = None
    sensitivity: Literal["personal", "private", "company-confidential"] | None = None
    autoforwarded: bool | None = None
    # heading extensions
    incomplete_copy: bool = False
    languages: tuple[str, ...] = ()
    auto_submitted: Literal["not-auto-submitted", "auto-generated", "auto-replied"] | None = None
    rfc822_fields: tuple[str, ...] = ()  # MIXER rfc-822-field-list, "Name: value"
    extensions: tuple[Extension, ...] = ()  # others, kept as received


@dataclass(frozen=True)
class TextPart:
    """IA5Text, GeneralText or Teletex body part, decoded to text.

    ``kind`` says which body part type carries it; ``charsets`` are the
    GeneralText ISO-IR registration numbers (e.g. ``(1, 6, 100)`` for
    ISO 8859-1)."""

    text: str
    kind: Literal["ia5", "general", "teletex"] = "ia5"
    charsets: tuple[int, ...] = ()


@dataclass(frozen=True)
class BinaryPart:
    """Bilaterally-defined body part: octets without a type."""

    data: bytes


@dataclass(frozen=True)
class FilePart:
    """File-transfer body part (X.420 7.4.12): octets with a file name."""

    data: bytes
    name: str | None = None


@dataclass(frozen=True)
class MessagePart:
    """Message body part: a forwarded IPM, with its delivery time and
    envelope originator if the parameters carried them."""

    ipm: IPM
    delivery_time: str | None = None
    originator: ORName | None = None


@dataclass(frozen=True)
class OpaquePart:
    """A body part the gateway does not convert (g3 fax, videotex, an
    unknown extended type...): ``kind`` is the basic body part name or the
    extended type's data OID; ``data`` its BER encoding."""

    kind: str
    data: bytes


BodyPart = TextPart | BinaryPart | FilePart | MessagePart | OpaquePart


@dataclass(frozen=True)
class IPM:
    heading: Heading
    body: tuple[BodyPart, ...] = field(default=())


@dataclass(frozen=True)
class Receipt:
    """X.420 ReceiptFields."""

    time: str
    acknowledgment_mode: Literal["manual", "automatic"] = "manual"
    supplementary_info: str | None = None


@dataclass(frozen=True)
class NonReceipt:
    """X.420 NonReceiptFields."""

    reason: Literal["ipm-discarded", "ipm-auto-forwarded"]
    discard_reason: (
        Literal["ipm-expired", "ipm-obsoleted", "user-subscription-terminated", "not-used"] | None
    ) = None
    auto_forward_comment: str | None = None
    returned_ipm: IPM | None = None


@dataclass(frozen=True)
class IPN:
    """X.420 IPN: receipt or non-receipt notification."""

    subject_ipm: IPMIdentifier
    fields: Receipt | NonReceipt
    ipn_originator: ORDescriptor | None = None
    intended_recipient: ORDescriptor | None = None
    conversion_eits: tuple[str, ...] | None = None
