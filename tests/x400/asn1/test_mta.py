"""X.411 MTAAbstractService / X.419 MTS-APDU: P1 message, report, probe, bind."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.type import univ

from gateway.x400.asn1 import ber, ipms, mta, mts
from tests.x400.asn1 import berutil, mta_samples, samples

REFERENCE = Path("/work/shared/reference/x400/asn1")
MTS_MODULE = REFERENCE / "itu-t_x_x411_1999_MTSAbstractService.asn1"
MTA_MODULE = REFERENCE / "itu-t_x_x411_1999_MTAAbstractService.asn1"
needs_reference = pytest.mark.skipif(
    not (MTS_MODULE.exists() and MTA_MODULE.exists()), reason="reference texts not available"
)

# PP writes constructed OCTET STRINGs: the content (04) and the report's
# returned-content [1] IMPLICIT OCTET STRING (81).
PP_STRINGS = frozenset({berutil.OCTET_STRING, 0x81})
# long enough to leave the short [1] IMPLICIT primitives (given-name, numbers) whole
PP_CHUNK = 64


def _round_trip(value: Any) -> Any:
    encoded = ber.encode(value)
    decoded = ber.decode(encoded, mta.MTS_APDU())
    assert ber.encode(decoded) == encoded  # the decoder refused leftovers itself
    return decoded


# -- message


def test_message_round_trip() -> None:
    decoded = _round_trip(mta_samples.message())
    assert decoded.getName() == "message"
    env = decoded["message"]["envelope"]
    assert str(env["message-identifier"]["local-identifier"]) == (
        "mta.lab.te.844:28.10.26.21.03.58"
    )
    gdi = env["message-identifier"]["global-domain-identifier"]
    assert str(gdi["administration-domain-name"]["printable"]) == " "
    assert str(gdi["private-domain-identifier"]["printable"]) == "Lab"
    assert int(env["content-type"]["built-in"]) == 22
    assert str(env["priority"]) == "urgent"
    recipients = env["per-recipient-fields"]
    assert len(recipients) == 2
    surnames = [
        str(r["recipient-name"]["built-in-standard-attributes"]["personal-name"]["surname"])
        for r in recipients
    ]
    assert surnames == ["Jones", "Brown"]
    assert [int(r["originally-specified-recipient-number"]) for r in recipients] == [1, 2]
    assert recipients[0]["per-recipient-indicators"] == univ.BitString("'10011000'B")
    assert str(recipients[0]["explicit-conversion"]) == "ia5-text-to-teletex"
    method = mts.read_extension(recipients[0]["extensions"][0])
    assert method.kind is not None and method.kind.name == "requested-delivery-method"
    assert [int(m) for m in method.value] == [1, 0]
    trace = env["trace-information"]
    assert len(trace) == 2
    assert str(trace[1]["global-domain-identifier"]["private-domain-identifier"]["printable"]) == (
        "Other"
    )
    assert str(trace[0]["domain-supplied-information"]["arrival-time"]) == "261128210358Z"
    assert str(trace[0]["domain-supplied-information"]["routing-action"]) == "relayed"


def test_message_extensions_through_the_registry() -> None:
    env = _round_trip(mta_samples.message())["message"]["envelope"]
    read = {str(x.id): x for x in (mta.read_extension(f) for f in env["extensions"])}
    correlator = read["23"]
    assert correlator.kind is not None and correlator.kind.name == "content-correlator"
    assert str(correlator.value["ia5text"]) == "IPM abc.123"
    internal = read["38"]
    assert internal.kind is not None and internal.kind.name == "internal-trace-information"
    element = internal.value[0]
    assert str(element["mta-name"]) == "mta.lab.test"
    supplied = element["mta-supplied-information"]
    assert str(supplied["attempted"]["mta"]) == "mx"
    assert supplied["other-actions"] == univ.BitString("'01'B")
    unknown = read[str(tuple(mta_samples.UNKNOWN_EXTENSION))]
    assert unknown.kind is None
    assert unknown.value == mta_samples.UNKNOWN_VALUE == unknown.encoded
    assert unknown.criticality == {"for-transfer", "for-delivery"}


def test_message_content_is_the_p22_ipm() -> None:
    decoded = _round_trip(mta_samples.message())
    content = bytes(decoded["message"]["content"])
    info = ber.decode(content, ipms.InformationObject())
    assert str(info["ipm"]["heading"]["this-IPM"]["user-relative-identifier"]) == "abc.123"


def test_known_tag_bytes() -> None:
    """Spot checks against X.411 / X.419 (IMPLICIT TAGS modules)."""
    message = ber.encode(mta_samples.message())
    assert message[:2] == b"\xa0\x82"  # message [0] IMPLICIT Message (SEQUENCE)
    assert message[4:6] == b"\x31\x82"  # MessageTransferEnvelope ::= SET
    assert ber.encode(mta_samples.report())[0] == 0xA1  # report [1]
    assert ber.encode(mta_samples.probe())[0] == 0xA2  # probe [2]
    # MTSIdentifier [APPLICATION 4], GlobalDomainIdentifier [APPLICATION 3],
    # CountryName [APPLICATION 1] CHOICE, AdministrationDomainName [APPLICATION 2]
    ident = ber.encode(mta_samples.mts_identifier(mta.MessageIdentifier(), "x"))
    assert ident == bytes.fromhex("6415 6310 6104 1302 4742 6203 1301 20 1303 4c6162 1601 78")
    # 1992 ExtensionType: standard-extension [0] IMPLICIT INTEGER
    field = mts.extension_field(23, mta_samples.content_correlator("hi"))
    assert ber.encode(field) == bytes.fromhex("3009 800117 a204 16026869")
    # TraceInformation [APPLICATION 9] SEQUENCE OF, PerMessageIndicators [APPLICATION 8]
    assert ber.encode(mta_samples.trace(("Lab", "261128210358Z")))[0] == 0x69
    assert b"\x48\x02\x04\x50" in message  # '0101'B: 4 bits, 4 unused
    # Criticality [1] IMPLICIT BIT STRING, named bits, trailing zeros dropped
    critical = mts.extension_field(1, univ.Enumerated(1), ("for-transfer", "for-delivery"))
    assert bytes.fromhex("8102 0560") in ber.encode(critical)


def test_extension_field_defaults() -> None:
    """Recommended criticality from the registry; NULL value omitted."""
    kind = mts.MTS_EXTENSIONS[1]  # recipient-reassignment-prohibited
    assert kind.recommended == {"for-delivery"}
    field = ber.decode(ber.encode(mts.extension_field(kind)), mts.ExtensionField())
    assert mts.criticality_names(field["criticality"]) == {"for-delivery"}
    assert bytes(field["value"]) == b"\x05\x00"  # DEFAULT NULL
    plain = ber.encode(mts.extension_field(kind, criticality=()))
    assert plain == bytes.fromhex("3003 800101")


# -- the 1988 ExtensionType form


def test_1988_extension_type_form_decodes() -> None:
    legacy = bytes.fromhex("300b a0030201 17 a204 16026869")  # [0] { INTEGER 23 }
    field = ber.decode(legacy, mts.ExtensionField())
    read = mta.read_extension(field)
    assert read.id == 23
    assert read.kind is not None and read.kind.name == "content-correlator"
    assert str(read.value["ia5text"]) == "hi"
    # re-encoded in the 1992 form
    assert ber.encode(field) == bytes.fromhex("3009 800117 a204 16026869")


def test_1988_extension_type_form_indefinite() -> None:
    legacy = bytes.fromhex("3080 a080020126 0000 a280 16026869 0000 0000")
    field = ber.decode(legacy, mts.ExtensionField())
    assert mts.extension_id(field) == 38


def test_whole_message_with_1988_extension_types() -> None:
    value = mta_samples.message()
    encoded = ber.encode(value)
    legacy = berutil.extension_types_1988(encoded)
    assert legacy != encoded
    assert bytes.fromhex("a003020117") in legacy
    assert bytes.fromhex("a003020126") in legacy
    decoded = ber.decode(legacy, mta.MTS_APDU())
    assert ber.encode(decoded) == encoded
    pp_style = berutil.to_indefinite(legacy, strings=PP_STRINGS, chunk=PP_CHUNK)
    assert ber.encode(ber.decode(pp_style, mta.MTS_APDU())) == encoded


@pytest.mark.parametrize(
    "data",
    [
        "3007 a005 0603 2a0304",  # [0] { OBJECT IDENTIFIER }: no edition defines it
        "3005 a003 040117",  # [0] { OCTET STRING }
        "3004 8002 0101",  # 257: beyond ub-extension-types
        "3003 8001 ff",  # -1
        "3002 8000",  # no contents
        "3005 8403 0a0b0c",  # a tag no alternative has
    ],
)
def test_bad_extension_types_are_refused(data: str) -> None:
    with pytest.raises(ber.BERError):
        ber.decode(bytes.fromhex(data), mts.ExtensionField())


# -- report


def test_report_round_trip() -> None:
    decoded = _round_trip(mta_samples.report())
    report = decoded["report"]
    env = report["envelope"]
    assert str(env["report-identifier"]["local-identifier"]) == "rep.lab.te.845:28.10.26"
    internal = mta.read_extension(env["extensions"][0])
    assert str(internal.value[0]["mta-name"]) == "mta.other.test"
    content = report["content"]
    assert str(content["subject-identifier"]["local-identifier"]) == (
        "mta.lab.te.844:28.10.26.21.03.58"
    )
    assert len(content["subject-intermediate-trace-information"]) == 1
    fields = content["per-recipient-fields"]
    assert len(fields) == 2
    delivered = fields[0]["last-trace-information"]["report-type"]
    assert delivered.getName() == "delivery"
    assert str(delivered["delivery"]["message-delivery-time"]) == "261128210405Z"
    assert str(delivered["delivery"]["type-of-MTS-user"]) == "private"
    failed = fields[1]
    report_type = failed["last-trace-information"]["report-type"]
    assert report_type.getName() == "non-delivery"
    nd = report_type["non-delivery"]
    assert int(nd["non-delivery-reason-code"]) == 1
    assert str(nd["non-delivery-reason-code"]) == "unable-to-transfer"
    assert int(nd["non-delivery-diagnostic-code"]) == 0
    assert str(nd["non-delivery-diagnostic-code"]) == "unrecognised-OR-name"
    assert str(failed["supplementary-information"]) == "No such user at Other (550 5.1.1)"
    actual = failed["actual-recipient-name"]["built-in-standard-attributes"]
    assert str(actual["personal-name"]["surname"]) == "Brown"
    returned = ber.decode(bytes(content["returned-content"]), ipms.InformationObject())
    assert str(returned["ipm"]["heading"]["subject"]) == "inner"
    correlator = mta.read_extension(content["extensions"][0])
    assert str(correlator.value["ia5text"]) == "IPM abc.123"


def test_delivery_report_type_of_mts_user_defaults_to_public() -> None:
    report_type = mta_samples.delivered()
    report_type["delivery"]["type-of-MTS-user"] = "public"
    encoded = ber.encode(report_type)
    assert encoded == bytes.fromhex("a00f 800d") + b"261128210405Z"  # DEFAULT omitted
    decoded = ber.decode(encoded, mts.ReportType())
    assert str(decoded["delivery"]["type-of-MTS-user"]) == "public"


# -- probe, bind


def test_probe_round_trip() -> None:
    probe = _round_trip(mta_samples.probe())["probe"]
    assert str(probe["probe-identifier"]["local-identifier"]) == "probe.1"
    assert int(probe["content-length"]) == 123456
    assert len(probe["per-recipient-fields"]) == 1


@pytest.mark.parametrize("password", ["excalibur", b"excalibur"])
def test_bind_argument(password: str | bytes) -> None:
    """The captured Isode bind (IA5String password) and PP's (OCTET STRING)."""
    arg = mta_samples.bind_argument(password=password)
    encoded = ber.encode(arg)
    name = b"percival.smhs.co.uk"
    inner = (b"\x16" if isinstance(password, str) else b"\x04") + b"\x09excalibur"
    expected = (
        b"\xa1\x22\x80\x13" + name + b"\xa1\x0b" + inner  # [1] SET { [0] name, [1] { pw } }
    )
    assert encoded == expected
    decoded = ber.decode(encoded, mta.MTABindArgument())
    auth = decoded["authenticated"]
    assert str(auth["initiator-name"]) == "percival.smhs.co.uk"
    simple = auth["initiator-credentials"]["simple"]
    assert simple.getComponent().asOctets() == b"excalibur"


def test_bind_result_and_unauthenticated() -> None:
    result = mta.MTABindResult()
    auth = result["authenticated"]
    auth["responder-name"] = "guinevere.smhs.co.uk"
    auth["responder-credentials"]["simple"]["ia5-string"] = "merlin"
    encoded = ber.encode(result)
    assert str(ber.decode(encoded, mta.MTABindResult())["authenticated"]["responder-name"]) == (
        "guinevere.smhs.co.uk"
    )
    plain = mta.MTABindArgument()
    plain["unauthenticated"] = None
    assert ber.encode(plain) == b"\x05\x00"
    assert ber.decode(b"\x05\x00", mta.MTABindResult()).getName() == "unauthenticated"


def test_strong_credentials_are_kept_opaque() -> None:
    # [1] SET { [0] name, [1] { strong [0] { bind-token [0] ... } } }
    strong = bytes.fromhex("a006 a004 0402 0102")
    credentials = bytes([0xA1, len(strong)]) + strong
    data = bytes([0xA1, 4 + len(credentials)]) + bytes.fromhex("8002 6d78") + credentials
    decoded = ber.decode(data, mta.MTABindArgument())
    credentials = decoded["authenticated"]["initiator-credentials"]
    assert credentials.getName() == "strong"
    assert bytes(credentials["strong"]) == bytes.fromhex("a004 0402 0102")
    assert ber.encode(decoded) == data


# -- PP-style BER


@pytest.mark.parametrize("build", [mta_samples.message, mta_samples.report, mta_samples.probe])
def test_indefinite_lengths_and_constructed_strings(build: Any) -> None:
    encoded = ber.encode(build())
    variant = berutil.to_indefinite(encoded, strings=PP_STRINGS, chunk=PP_CHUNK)
    assert variant != encoded
    assert variant[1] == 0x80 and variant[3] == 0x80  # the APDU and its first component
    decoded = ber.decode(variant, mta.MTS_APDU())
    assert ber.encode(decoded) == encoded


def test_constructed_content_octets() -> None:
    encoded = ber.encode(mta_samples.message())
    variant = berutil.to_indefinite(encoded, chunk=5)
    assert b"\x24\x80\x04\x05" in variant  # the content, in 5-octet segments
    decoded = ber.decode(variant, mta.MTS_APDU())
    content = bytes(decoded["message"]["content"])
    assert ber.decode(content, ipms.InformationObject()).getName() == "ipm"


# -- content type 2: P2 (1984)


def test_p2_1984_content_decodes_with_the_ipm_schema() -> None:
    """X.420 (1984): UAPDU ::= CHOICE { [0] IMPLICIT IM-UAPDU, [1] IMPLICIT
    SR-UAPDU } and IM-UAPDU ::= SEQUENCE { heading Heading, body Body }: the
    same encoding as the 1988 InformationObject's ipm [0] IPM.  A 1984 IPM
    uses a subset of the Heading (no extensions) and of the body part types,
    so InformationObject decodes content type 2 as well as 22."""
    im_uapdu = (
        "a0 32"  # [0] IMPLICIT IM-UAPDU
        "  31 20"  # Heading SET
        "    6b 0a 13 08 70 32 2d 38 34 2e 30 31"  # IPMIdentifier [APPLICATION 11] "p2-84.01"
        "    a8 12 14 10 31 39 38 34 20 73 74 79 6c 65 20 6e 6f 74 65 21"  # subject [8]
        "  30 0e"  # Body SEQUENCE OF BodyPart
        "    a0 0c 31 03 80 01 05 16 05 68 65 6c 6c 6f"  # ia5-text [0] {SET {ia5}, "hello"}
    )
    content = bytes.fromhex(im_uapdu)
    msg = mta_samples.message(content=content)
    msg["message"]["envelope"]["content-type"]["built-in"] = "interpersonal-messaging-1984"
    decoded = _round_trip(msg)
    env = decoded["message"]["envelope"]
    assert int(env["content-type"]["built-in"]) == 2
    info = ber.decode(bytes(decoded["message"]["content"]), ipms.InformationObject())
    heading = info["ipm"]["heading"]
    assert str(heading["this-IPM"]["user-relative-identifier"]) == "p2-84.01"
    assert str(heading["subject"]) == "1984 style note!"
    assert str(info["ipm"]["body"][0]["basic"]["ia5-text"]["data"]) == "hello"


def test_extended_content_type_as_1992_object_identifier() -> None:
    msg = mta_samples.message()
    env = msg["message"]["envelope"]
    env["content-type"]["extended-oid"] = (2, 6, 1, 10, 1)  # id-mct-p2-1988
    decoded = _round_trip(msg)
    content_type = decoded["message"]["envelope"]["content-type"]
    assert content_type.getName() == "extended-oid"


# -- named values checked against the module text


def _named_numbers(text: str, type_name: str, keyword: str) -> dict[str, int]:
    match = re.search(rf"^{type_name}\s*::=\s*(?:\[APPLICATION \d+\]\s*)?{keyword}\s*\{{(.*?)\}}",
                      text, re.M | re.S)  # fmt: skip
    assert match is not None, type_name
    body = re.sub(r"--.*?(--|$)", "", match.group(1), flags=re.M)
    return {name: int(n) for name, n in re.findall(r"([A-Za-z][\w-]*)\s*\(\s*(\d+)\s*\)", body)}


@needs_reference
@pytest.mark.parametrize(
    ("module", "type_name", "keyword", "spec"),
    [
        (MTS_MODULE, "NonDeliveryReasonCode", "INTEGER", mts.NonDeliveryReasonCode),
        (MTS_MODULE, "NonDeliveryDiagnosticCode", "INTEGER", mts.NonDeliveryDiagnosticCode),
        (MTS_MODULE, "TypeOfMTSUser", "INTEGER", mts.TypeOfMTSUser),
        (MTS_MODULE, "ExplicitConversion", "INTEGER", mts.ExplicitConversion),
        (MTS_MODULE, "BuiltInContentType", "INTEGER", mts.BuiltInContentType),
        (MTS_MODULE, "PerMessageIndicators", "BIT STRING", mts.PerMessageIndicators),
        (MTS_MODULE, "Criticality", "BIT STRING", mts.Criticality),
        (MTS_MODULE, "RegisteredMailType", "INTEGER", mts.RegisteredMailType),
        (MTS_MODULE, "PhysicalDeliveryModes", "BIT STRING", mts.PhysicalDeliveryModes),
        (MTS_MODULE, "SecurityClassification", "INTEGER", mts.SecurityClassification),
        (MTA_MODULE, "PerRecipientIndicators", "BIT STRING", mta.PerRecipientIndicators),
        (MTA_MODULE, "RoutingAction", "ENUMERATED", mta.RoutingAction),
        (MTA_MODULE, "OtherActions", "BIT STRING", mta.OtherActions),
    ],
)
def test_named_values_match_the_module(
    module: Path, type_name: str, keyword: str, spec: Any
) -> None:
    expected = _named_numbers(module.read_text(), type_name, keyword)
    assert dict(spec.namedValues.items()) == expected


@needs_reference
def test_diagnostic_codes_are_all_there() -> None:
    names = _named_numbers(MTS_MODULE.read_text(), "NonDeliveryDiagnosticCode", "INTEGER")
    assert sorted(names.values()) == list(range(79))  # 0..78
    assert sorted(mts.NonDeliveryReasonCode.namedValues.values()) == list(range(9))


@needs_reference
def test_standard_extension_numbers_match_the_module() -> None:
    """Every ``name EXTENSION ::= { ... IDENTIFIED BY standard-extension:n }``
    of both modules is in mta.EXTENSIONS under its number and name."""
    found: dict[int, str] = {}
    for module in (MTS_MODULE, MTA_MODULE):
        # one chunk per "name EXTENSION ::= ...", up to the next one
        for chunk in re.split(
            r"^(?=[a-zA-Z][\w-]*\s+EXTENSION\s*::=)", module.read_text(), flags=re.M
        ):
            definition = re.match(r"([a-zA-Z][\w-]*)\s+EXTENSION\s*::=", chunk)
            number = re.search(r"standard-extension:(\d+)", chunk)
            if definition is not None and number is not None:
                found[int(number.group(1))] = definition.group(1)
    assert len(found) >= 40
    assert {n: kind.name for n, kind in mta.EXTENSIONS.items() if isinstance(n, int)} == found


# -- hostile input


def _refused(data: bytes, *, seconds: float = 1.0) -> ber.BERError:
    started = time.perf_counter()
    with pytest.raises(ber.BERError) as info:
        ber.decode(data, mta.MTS_APDU())
    assert time.perf_counter() - started < seconds
    return info.value


def test_message_with_a_length_of_2_to_the_63() -> None:
    data = b"\xa0\x88" + (2**63).to_bytes(8, "big") + b"\x31\x00"
    assert "length" in _refused(data).reason


def test_truncated_envelopes_are_refused() -> None:
    encoded = ber.encode(mta_samples.message())
    started = time.perf_counter()
    for cut in range(0, len(encoded), 7):
        with pytest.raises(ber.BERError):
            ber.decode(encoded[:cut], mta.MTS_APDU())
    assert time.perf_counter() - started < 5
    variant = berutil.to_indefinite(encoded, strings=PP_STRINGS, chunk=PP_CHUNK)
    error = _refused(variant[: len(variant) // 2])
    assert "truncated" in error.reason or "past the end" in error.reason


def test_nesting_ten_thousand_deep() -> None:
    data = b"\xa0\x80" + b"\x31\x80" * 10_000 + b"\x00\x00" * 10_001
    assert "nesting deeper" in _refused(data).reason


def test_wrong_apdu_tag() -> None:
    error = _refused(b"\xa3\x00")  # no MTS-APDU alternative is [3]
    assert "does not decode as MTS_APDU" in error.reason


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_message_gives_a_value_or_ber_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(MUTATION_SAMPLE)
    for offset, octet in edits:
        data[offset % len(data)] = octet
    with contextlib.suppress(ber.BERError):
        ber.decode(bytes(data), mta.MTS_APDU())


MUTATION_SAMPLE = ber.encode(mta_samples.report())


# -- property tests: generated MTS-APDUs round trip

PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
IA5 = "".join(chr(c) for c in range(0x20, 0x7F))

printable = st.text(PRINTABLE, min_size=1, max_size=40)
local_identifiers = st.text(IA5, min_size=1, max_size=32)
mta_names = st.text(IA5, min_size=1, max_size=32)
times = st.builds(
    "{:02d}{:02d}{:02d}{:02d}{:02d}{:02d}Z".format,
    st.integers(0, 99),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)


@st.composite
def generated_messages(draw: st.DrawFn) -> Any:
    surnames = draw(st.lists(printable, min_size=1, max_size=6))
    env = mta_samples.envelope(surnames, local=draw(local_identifiers))
    hops = draw(
        st.lists(st.tuples(st.text(PRINTABLE, min_size=1, max_size=16), times), max_size=3)
    )
    for prmd, arrival in hops:
        env["trace-information"].extend(mta_samples.trace((prmd, arrival)))
    if draw(st.booleans()):
        env["extensions"].append(
            mts.extension_field(
                23, mta_samples.content_correlator(draw(st.text(IA5, max_size=100)))
            )
        )
    if draw(st.booleans()):
        env["extensions"].append(
            mts.extension_field(38, mta_samples.internal_trace(draw(mta_names), draw(times)))
        )
    for number in draw(st.lists(st.integers(0, 256), max_size=3, unique=True)):
        if number in (23, 38):
            continue
        payload = draw(st.binary(max_size=20))
        env["extensions"].append(
            mts.extension_field(
                number,
                ber.encode(univ.OctetString(payload)),
                draw(st.sets(st.sampled_from(["for-submission", "for-transfer", "for-delivery"]))),
            )
        )
    msg = mta.Message()
    msg["envelope"] = env
    msg["content"] = draw(st.binary(max_size=300))
    apdu = mta.MTS_APDU()
    apdu["message"] = ipms.as_component(apdu, "message", msg)
    return apdu


@st.composite
def generated_reports(draw: st.DrawFn) -> Any:
    apdu = mta_samples.report(returned=draw(st.binary(max_size=100)))
    content = apdu["report"]["content"]
    for number in range(3, 3 + draw(st.integers(0, 4))):
        if draw(st.booleans()):
            report_type = mta_samples.delivered(draw(times))
        else:
            report_type = mta_samples.non_delivered(
                draw(st.integers(0, 8)), draw(st.none() | st.integers(0, 78))
            )
        supplementary = draw(st.none() | st.text(PRINTABLE, min_size=1, max_size=256))
        content["per-recipient-fields"].append(
            mta_samples.report_recipient(
                draw(printable), number, report_type, supplementary=supplementary
            )
        )
    return apdu


@settings(max_examples=60, deadline=None)
@given(st.one_of(generated_messages(), generated_reports()))
def test_generated_apdus_round_trip(apdu: Any) -> None:
    encoded = ber.encode(apdu)
    decoded = ber.decode(encoded, mta.MTS_APDU())
    assert ber.encode(decoded) == encoded
    pp_style = berutil.to_indefinite(encoded, strings=PP_STRINGS, chunk=PP_CHUNK)
    assert ber.encode(ber.decode(pp_style, mta.MTS_APDU())) == encoded
    legacy = berutil.extension_types_1988(encoded)
    assert ber.encode(ber.decode(legacy, mta.MTS_APDU())) == encoded


def test_sample_or_names_are_shared_with_the_ipm_samples() -> None:
    # the P1 samples reuse the IPM samples' O/R names (one place to change)
    name = ber.encode(samples.or_name("Smith", "John"))
    assert name in ber.encode(mta_samples.message())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_give_a_value_or_ber_error(data: bytes) -> None:
    for spec in (mta.MTS_APDU(), mts.ExtensionField(), mta.MTABindArgument()):
        with contextlib.suppress(ber.BERError):
            ber.decode(data, spec)


def test_absent_all_optional_sets_stay_absent() -> None:
    """pyasn1's encoder instantiates unset components before the last set
    one; an all-optional SET (teletex NonBasicParameters) must not appear
    as an empty ``a2 00`` (mts.AbsentWhenEmpty)."""
    eit = mts.EncodedInformationTypes()
    eit["built-in-encoded-information-types"] = "'001'B"
    eit["extended-encoded-information-types"].append((2, 6, 1, 4, 0))
    encoded = ber.encode(eit)
    assert b"\xa2\x00" not in encoded
    assert not ber.decode(encoded, mts.EncodedInformationTypes())["teletex"].isValue
    eit["teletex"]["graphic-character-sets"] = "102"
    assert b"\xa2\x05\x80\x03102" in ber.encode(eit)
