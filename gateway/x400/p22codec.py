"""P22 (and P2) contents between BER and the model (X.420).

:func:`decode_content` reads the octets of a content of type 22 (or 2, the
1984 form, whose IM-UAPDU has the IPM's SEQUENCE {heading, body} shape) into
an :class:`~gateway.x400.model.IPM` or :class:`~gateway.x400.model.IPN`;
:func:`encode_content` writes them back with definite lengths.

Body parts: IA5 text and general text (basic or extended) become
:class:`TextPart`; teletex whose strings are plain ASCII becomes a teletex
:class:`TextPart`; bilaterally defined -> :class:`BinaryPart`; file transfer
-> :class:`FilePart`; message -> :class:`MessagePart` (recursively, within
the depth limit); everything else (G3 fax, videotex, nationally defined,
teletex with T.61 characters, unknown extended types) -> :class:`OpaquePart`
holding the BodyPart's own BER, which :func:`encode_content` puts back
unchanged.  Heading extensions MIXER maps are typed; the others are kept as
:class:`Extension` (OID and value encoding) and re-encoded as received.
"""

from __future__ import annotations

from typing import Any, cast

from pyasn1.type import univ

from gateway.x400.asn1 import ber, ipms
from gateway.x400.asn1 import ipms_file_transfer as ftbp
from gateway.x400.asn1 import ipms_heading_extensions as hext
from gateway.x400.asn1 import ipms_object_identifiers as oids
from gateway.x400.asn1.ipms_extended_body_part_types2 import (
    GeneralTextData,
    GeneralTextParameters,
)
from gateway.x400.generaltext import decode_general_text, encode_general_text
from gateway.x400.model import (
    IPM,
    IPN,
    BinaryPart,
    BodyPart,
    Extension,
    FilePart,
    Heading,
    IPMIdentifier,
    MessagePart,
    NonReceipt,
    OpaquePart,
    ORDescriptor,
    Receipt,
    RecipientSpecifier,
    TextPart,
)
from gateway.x400.mtscodec import eits_from_asn1, eits_to_asn1, present
from gateway.x400.orcodec import (
    or_address_from_asn1,
    or_name_from_asn1,
    or_name_to_asn1,
)
from gateway.x400.orname import ORAddress

__all__ = [
    "ContentError",
    "decode_content",
    "encode_content",
    "ipm_from_asn1",
    "ipm_to_asn1",
]

_NOTIFICATIONS = ("rn", "nrn", "ipm-return", "an-supported")
_EMPTY_BCC = RecipientSpecifier(ORDescriptor(free_form="BCC"))


class ContentError(ValueError):
    """A P22/P2 content that cannot be read (or written)."""


def decode_content(data: bytes, **limits: int) -> IPM | IPN:
    """The IPM or IPN in *data* (an InformationObject), within the BER
    limits given (``max_depth``, ``max_length``, ``max_total``)."""
    try:
        value = ber.decode(data, ipms.InformationObject(), **limits)
    except ber.BERError as exc:
        raise ContentError(str(exc)) from None
    if value.getName() == "ipm":
        return ipm_from_asn1(value["ipm"], limits)
    return ipn_from_asn1(value["ipn"], limits)


def encode_content(content: IPM | IPN) -> bytes:
    """The InformationObject encoding of *content*."""
    obj = ipms.InformationObject()
    # filled in place: pyasn1 cannot re-tag values holding directory names
    if isinstance(content, IPM):
        ipm_to_asn1(content, obj["ipm"])
    else:
        ipn_to_asn1(content, obj["ipn"])
    return ber.encode(obj)


# -- identifiers and descriptors


def _ipm_id_from(value: Any) -> IPMIdentifier:
    user = or_address_from_asn1(value["user"]) if present(value, "user") else None
    return IPMIdentifier(user, str(value["user-relative-identifier"]))


def _ipm_id_to(ident: IPMIdentifier, spec: Any) -> Any:
    out = spec.clone()
    if ident.user is not None:
        out["user"] = _or_name(ident.user, out["user"])
    out["user-relative-identifier"] = ident.local or ""
    return out


def _or_name(addr: ORAddress, slot: Any) -> Any:
    from gateway.x400.model import ORName

    return or_name_to_asn1(ORName(addr), slot)


def _descriptor_from(value: Any) -> ORDescriptor:
    return ORDescriptor(
        or_name_from_asn1(value["formal-name"]) if present(value, "formal-name") else None,
        _teletex_text(value["free-form-name"]) if present(value, "free-form-name") else None,
        str(value["telephone-number"]) if present(value, "telephone-number") else None,
    )


def _descriptor_to(d: ORDescriptor, spec: Any) -> Any:
    out = spec.clone()
    if d.formal is not None:
        out["formal-name"] = or_name_to_asn1(d.formal, out["formal-name"])
    if d.free_form is not None:
        out["free-form-name"] = d.free_form.encode("latin-1", "replace")
    if d.telephone is not None:
        out["telephone-number"] = d.telephone
    return out


def _teletex_text(value: Any) -> str:
    """TeletexString octets as text: ASCII passes, other octets are read as
    Latin-1 (T.61's repertoire mostly coincides for letters a gateway maps
    for display; the free form name and subject are for people)."""
    return bytes(value.asOctets()).decode("latin-1")


def _recipient_from(value: Any) -> RecipientSpecifier:
    requests = value["notification-requests"]
    names: set[str] = set()
    if requests.isValue:
        for number, bit in enumerate(requests):
            if bit and number < len(_NOTIFICATIONS):
                names.add(_NOTIFICATIONS[number])
    reply = bool(value["reply-requested"]) if present(value, "reply-requested") else False
    return RecipientSpecifier(
        _descriptor_from(value["recipient"]),
        cast(Any, frozenset(names)),
        reply,
    )


def _recipient_to(r: RecipientSpecifier, spec: Any) -> Any:
    out = spec.clone()
    out["recipient"] = _descriptor_to(r.recipient, out["recipient"])
    if r.notifications:
        width = max(_NOTIFICATIONS.index(n) for n in r.notifications) + 1
        bits = tuple(1 if _NOTIFICATIONS[i] in r.notifications else 0 for i in range(width))
        out["notification-requests"] = out["notification-requests"].clone(bits)
    if r.reply_requested:
        out["reply-requested"] = True
    return out


# -- heading


def _extensions_from(values: Any, limits: dict[str, int]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    others: list[Extension] = []
    for ext in values if values.isValue else ():
        decoded = hext.read_ipms_extension(ext, hext.HEADING_EXTENSION_TYPES, **limits)
        kind = decoded.kind
        name = None if kind is None or kind.opaque else kind.name
        if name == "incomplete-copy":
            typed["incomplete_copy"] = True
        elif name == "languages":
            typed["languages"] = tuple(str(lang) for lang in decoded.value)
        elif name == "auto-submitted":
            typed["auto_submitted"] = str(decoded.value.prettyPrint())
        elif name == "rfc-822-field-list":
            typed["rfc822_fields"] = tuple(str(f) for f in decoded.value)
        else:
            oid = ".".join(str(n) for n in decoded.id)
            others.append(Extension(oid, decoded.encoded))
    typed["extensions"] = tuple(others)
    return typed


def _extensions_to(h: Heading, values: Any) -> None:
    exts = []
    if h.incomplete_copy:
        exts.append(hext.ipms_extension(oids.id_hex_incomplete_copy))
    if h.languages:
        langs = hext.Languages()
        for i, lang in enumerate(h.languages):
            langs[i] = lang
        exts.append(hext.ipms_extension(oids.id_hex_languages, langs))
    if h.auto_submitted is not None:
        exts.append(
            hext.ipms_extension(oids.id_hex_auto_submitted, hext.AutoSubmitted(h.auto_submitted))
        )
    if h.rfc822_fields:
        fields = hext.RFC822FieldList()
        for i, line in enumerate(h.rfc822_fields):
            fields[i] = line
        exts.append(hext.ipms_extension(hext.id_rfc_822_field_list, fields))
    for other in h.extensions:
        exts.append(hext.ipms_extension(univ.ObjectIdentifier(str(other.type)), other.value))
    for i, ext in enumerate(exts):
        values[i] = ext


def heading_from_asn1(h: Any, limits: dict[str, int]) -> Heading:
    def opt(name: str) -> Any:
        return h[name] if present(h, name) else None

    def many(name: str, convert: Any) -> tuple[Any, ...]:
        return tuple(convert(v) for v in h[name]) if present(h, name) else ()

    sensitivity = opt("sensitivity")
    importance = h["importance"]
    return Heading(
        this_ipm=_ipm_id_from(h["this-IPM"]),
        originator=_descriptor_from(h["originator"]) if opt("originator") is not None else None,
        authorizing_users=many("authorizing-users", _descriptor_from),
        primary=many("primary-recipients", _recipient_from),
        copy=many("copy-recipients", _recipient_from),
        blind_copy=(
            tuple(r for r in many("blind-copy-recipients", _recipient_from) if r != _EMPTY_BCC)
            if opt("blind-copy-recipients") is not None
            else None
        ),
        replied_to=_ipm_id_from(h["replied-to-IPM"])
        if opt("replied-to-IPM") is not None
        else None,
        obsoleted=many("obsoleted-IPMs", _ipm_id_from),
        related=many("related-IPMs", _ipm_id_from),
        subject=_teletex_text(h["subject"]) if opt("subject") is not None else None,
        expiry_time=str(h["expiry-time"]) if opt("expiry-time") is not None else None,
        reply_time=str(h["reply-time"]) if opt("reply-time") is not None else None,
        reply_recipients=many("reply-recipients", _descriptor_from),
        importance=(
            cast(Any, importance.prettyPrint())
            if importance.isValue and int(importance) != 1
            else None
        ),
        sensitivity=cast(Any, sensitivity.prettyPrint()) if sensitivity is not None else None,
        autoforwarded=(
            bool(h["auto-forwarded"])
            if present(h, "auto-forwarded") and bool(h["auto-forwarded"])
            else None
        ),
        **_extensions_from(h["extensions"], limits),
    )


def heading_to_asn1(heading: Heading, h: Any = None) -> Any:
    """The Heading of *heading*, filled into *h* when given."""
    h = ipms.Heading() if h is None else h

    def slot(name: str) -> Any:
        return h.componentType[name].asn1Object

    h["this-IPM"] = _ipm_id_to(heading.this_ipm, slot("this-IPM"))
    if heading.originator is not None:
        h["originator"] = _descriptor_to(heading.originator, slot("originator"))
    lists: tuple[tuple[str, tuple[Any, ...], Any, Any], ...] = (
        (
            "authorizing-users",
            heading.authorizing_users,
            _descriptor_to,
            ipms.AuthorizingUsersSubfield,
        ),
        ("primary-recipients", heading.primary, _recipient_to, ipms.PrimaryRecipientsSubfield),
        ("copy-recipients", heading.copy, _recipient_to, ipms.CopyRecipientsSubfield),
        (
            "reply-recipients",
            heading.reply_recipients,
            _descriptor_to,
            ipms.ReplyRecipientsSubfield,
        ),
    )
    for name, items, convert, sub in lists:
        for i, item in enumerate(items):
            h[name][i] = convert(item, sub())
    if heading.blind_copy is not None:
        # RFC 2156 5.1.3: an empty Bcc: is "one ORDescriptor with free-form-name
        # BCC" (the other form, a zero-length SEQUENCE, is dropped by DER).
        for i, item in enumerate(heading.blind_copy or (_EMPTY_BCC,)):
            h["blind-copy-recipients"][i] = _recipient_to(item, ipms.BlindCopyRecipientsSubfield())
    if heading.replied_to is not None:
        h["replied-to-IPM"] = _ipm_id_to(heading.replied_to, slot("replied-to-IPM"))
    for i, ident in enumerate(heading.obsoleted):
        h["obsoleted-IPMs"][i] = _ipm_id_to(ident, ipms.ObsoletedIPMsSubfield())
    for i, ident in enumerate(heading.related):
        h["related-IPMs"][i] = _ipm_id_to(ident, ipms.RelatedIPMsSubfield())
    if heading.subject is not None:
        h["subject"] = heading.subject.encode("latin-1", "replace")
    if heading.expiry_time is not None:
        h["expiry-time"] = heading.expiry_time
    if heading.reply_time is not None:
        h["reply-time"] = heading.reply_time
    if heading.importance is not None:
        h["importance"] = heading.importance
    if heading.sensitivity is not None:
        h["sensitivity"] = heading.sensitivity
    if heading.autoforwarded is not None:
        h["auto-forwarded"] = heading.autoforwarded
    if (
        heading.incomplete_copy
        or heading.languages
        or heading.auto_submitted is not None
        or heading.rfc822_fields
        or heading.extensions
    ):
        _extensions_to(heading, h["extensions"])
    return h


# -- body parts


def _opaque(kind: str, part: Any) -> OpaquePart:
    return OpaquePart(kind, ber.encode(part))


def _body_part_from(part: Any, limits: dict[str, int]) -> BodyPart:
    if part.getName() == "basic":
        basic = part["basic"]
        name = basic.getName()
        value = basic[name]
        if name == "ia5-text":
            return TextPart(str(value["data"]), "ia5")
        if name == "bilaterally-defined":
            return BinaryPart(bytes(value))
        if name == "message":
            return _message_part(value, ipms.message_data(value, **limits), limits)
        if name == "teletex":
            strings = [bytes(s.asOctets()) for s in value["data"]]
            if all(s.isascii() for s in strings):
                return TextPart("".join(s.decode("ascii") for s in strings), "teletex")
        return _opaque(name, part)
    extended = part["extended"]
    try:
        decoded = ipms.read_extended_body_part(extended)
    except ber.BERError as exc:
        raise ContentError(f"extended body part: {exc}") from None
    if decoded.kind is None:
        return _opaque(".".join(map(str, decoded.data_id)), part)
    name = decoded.kind.name
    if name == "general-text-body-part":
        charsets = tuple(sorted(int(c) for c in decoded.parameters or ()))
        try:
            text = decode_general_text(bytes(decoded.data.asOctets()), charsets)
        except ValueError as exc:
            raise ContentError(f"general text body part: {exc}") from None
        return TextPart(text, "general", charsets)
    if name == "ia5-text-body-part":
        return TextPart(str(decoded.data), "ia5")
    if name == "bilaterally-defined-body-part":
        return BinaryPart(bytes(decoded.data))
    if name == "file-transfer-body-part":
        try:
            ft = ftbp.read_file_transfer(decoded.parameters, decoded.data, **limits)
        except ber.BERError as exc:
            raise ContentError(f"file transfer body part: {exc}") from None
        return FilePart(ft.contents, ft.name)
    return _opaque(name, part)


def _message_part(params: Any, ipm: Any, limits: dict[str, int]) -> MessagePart:
    p = params["parameters"]
    delivery = str(p["delivery-time"]) if present(p, "delivery-time") else None
    originator = None
    env = p["delivery-envelope"] if present(p, "delivery-envelope") else None
    if env is not None and present(env, "originator-name"):
        originator = or_name_from_asn1(env["originator-name"])
    return MessagePart(ipm_from_asn1(ipm, limits), delivery, originator)


def _body_part_to(part: BodyPart) -> Any:
    if isinstance(part, OpaquePart):
        return ber.decode(part.data, ipms.BodyPart())
    out = ipms.BodyPart()
    if isinstance(part, TextPart):
        if part.kind == "general":
            charsets = part.charsets or (1, 6, 100)
            params = GeneralTextParameters()
            for i, number in enumerate(charsets):
                params[i] = number
            data = GeneralTextData(encode_general_text(part.text, charsets))
            return ipms.extended_body_part(
                oids.id_et_general_text, data, oids.id_ep_general_text, params
            )
        if part.kind == "teletex":
            teletex = out["basic"]["teletex"]
            teletex["parameters"] = teletex["parameters"].clone()
            teletex["data"][0] = part.text.encode("latin-1", "replace")
            return out
        ia5 = out["basic"]["ia5-text"]
        ia5["parameters"]["repertoire"] = "ia5"
        ia5["data"] = part.text
        return out
    if isinstance(part, BinaryPart):
        out["basic"]["bilaterally-defined"] = part.data
        return out
    if isinstance(part, FilePart):
        params, data = ftbp.file_transfer(part.name or "", part.data)
        if part.name is None:  # no pathname at all, as received
            params = ftbp.FileTransferParameters()
        return ipms.extended_body_part(
            oids.id_et_file_transfer, data, oids.id_ep_file_transfer, params
        )
    message = out["basic"]["message"]
    built = ipms.message_body_part(ipm_to_asn1(part.ipm))
    if part.delivery_time is not None:
        built["parameters"]["delivery-time"] = part.delivery_time
    # part.originator is read from a received delivery envelope but not
    # written: OtherMessageDeliveryFields needs a whole delivery (identifier,
    # recipient, content type...) that a forwarded Internet message lacks.
    out["basic"]["message"] = ipms.as_component(out["basic"], "message", built)
    del message
    return out


def ipm_from_asn1(value: Any, limits: dict[str, int] | None = None) -> IPM:
    limits = limits or {}
    return IPM(
        heading_from_asn1(value["heading"], limits),
        tuple(_body_part_from(p, limits) for p in value["body"]),
    )


def ipm_to_asn1(ipm: IPM, out: Any = None) -> Any:
    """The IPM of *ipm*, filled into *out* (e.g. a re-tagged IPM) when given."""
    out = ipms.IPM() if out is None else out
    heading_to_asn1(ipm.heading, out["heading"])
    for i, part in enumerate(ipm.body):
        out["body"][i] = _body_part_to(part)
    return out


# -- IPN


def ipn_from_asn1(value: Any, limits: dict[str, int] | None = None) -> IPN:
    limits = limits or {}
    choice = value["choice"]
    name = choice.getName()
    fields: Receipt | NonReceipt
    if name == "receipt-fields":
        r = choice[name]
        fields = Receipt(
            str(r["receipt-time"]),
            cast(Any, r["acknowledgment-mode"].prettyPrint()),
            str(r["suppl-receipt-info"]) if present(r, "suppl-receipt-info") else None,
        )
    elif name == "non-receipt-fields":
        n = choice[name]
        fields = NonReceipt(
            cast(Any, n["non-receipt-reason"].prettyPrint()),
            cast(Any, n["discard-reason"].prettyPrint()) if present(n, "discard-reason") else None,
            str(n["auto-forward-comment"]) if present(n, "auto-forward-comment") else None,
            ipm_from_asn1(n["returned-ipm"], limits) if present(n, "returned-ipm") else None,
        )
    else:
        raise ContentError("other-notification-type-fields are not supported")

    def opt_descriptor(key: str) -> ORDescriptor | None:
        return _descriptor_from(value[key]) if present(value, key) else None

    return IPN(
        subject_ipm=_ipm_id_from(value["subject-ipm"]),
        fields=fields,
        ipn_originator=opt_descriptor("ipn-originator"),
        intended_recipient=opt_descriptor("ipm-intended-recipient"),
        conversion_eits=(
            eits_from_asn1(value["conversion-eits"]) if present(value, "conversion-eits") else None
        ),
    )


def ipn_to_asn1(ipn: IPN, out: Any = None) -> Any:
    """The IPN of *ipn*, filled into *out* when given."""
    out = ipms.IPN() if out is None else out

    def slot(name: str) -> Any:
        return out.componentType[name].asn1Object

    out["subject-ipm"] = _ipm_id_to(ipn.subject_ipm, slot("subject-ipm"))
    if ipn.ipn_originator is not None:
        out["ipn-originator"] = _descriptor_to(ipn.ipn_originator, slot("ipn-originator"))
    if ipn.intended_recipient is not None:
        out["ipm-intended-recipient"] = _descriptor_to(
            ipn.intended_recipient, slot("ipm-intended-recipient")
        )
    if ipn.conversion_eits is not None:
        out["conversion-eits"] = eits_to_asn1(ipn.conversion_eits, slot("conversion-eits"))
    choice = out["choice"]
    if isinstance(ipn.fields, Receipt):
        r = choice["receipt-fields"]
        r["receipt-time"] = ipn.fields.time
        if ipn.fields.acknowledgment_mode != "manual":
            r["acknowledgment-mode"] = ipn.fields.acknowledgment_mode
        if ipn.fields.supplementary_info is not None:
            r["suppl-receipt-info"] = ipn.fields.supplementary_info
    else:
        n = choice["non-receipt-fields"]
        n["non-receipt-reason"] = ipn.fields.reason
        if ipn.fields.discard_reason is not None:
            n["discard-reason"] = ipn.fields.discard_reason
        if ipn.fields.auto_forward_comment is not None:
            n["auto-forward-comment"] = ipn.fields.auto_forward_comment
        if ipn.fields.returned_ipm is not None:
            ipm_to_asn1(ipn.fields.returned_ipm, n["returned-ipm"])
    return out
