"""X.420 IPMSFileTransferBodyPartType: the file transfer body part (FTBP)."""

from __future__ import annotations

from typing import Any

import pytest
from pyasn1.type import char, univ

from gateway.x400.asn1 import ber, ipms
from gateway.x400.asn1 import ipms_file_transfer as ft
from gateway.x400.asn1 import ipms_object_identifiers as oids
from gateway.x400.asn1.external import External
from tests.x400.asn1 import berutil, samples

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 3 + b"%%EOF\n"


def _body_part(parameters: Any, data: Any) -> Any:
    return ipms.extended_body_part(
        oids.id_et_file_transfer, data, oids.id_ep_file_transfer, parameters
    )


def _through_an_ipm(part: Any) -> Any:
    ipm = samples.simple_ipm()
    ipm["body"].append(part)
    encoded = ber.encode(ipm)
    decoded = ber.decode(encoded, ipms.IPM())
    assert ber.encode(decoded) == encoded
    return decoded["body"][1]["extended"]


def test_registered_as_an_extended_body_part() -> None:
    kind = ipms.EXTENDED_BODY_PART_TYPES[tuple(oids.id_et_file_transfer)]
    assert kind.name == "file-transfer-body-part"
    assert tuple(kind.parameters_id) == (2, 6, 1, 11, 12)  # id-ep-file-transfer
    assert tuple(kind.data_id) == (2, 6, 1, 4, 12)  # id-et-file-transfer


def test_file_name_and_octets_round_trip() -> None:
    parameters, data = ft.file_transfer("figures.pdf", PDF, pathname=("reports", "2026"))
    read = ipms.read_extended_body_part(_through_an_ipm(_body_part(parameters, data)))
    assert read.kind is not None and read.kind.name == "file-transfer-body-part"
    transfer = ft.read_file_transfer(read.parameters, read.data)
    assert transfer.name == "figures.pdf"
    assert transfer.pathname == ("reports", "2026", "figures.pdf")
    assert transfer.document_type == tuple(ft.FTAM_3)  # the DEFAULT, absent
    assert transfer.contents == PDF


def test_wire_form_of_the_parameters() -> None:
    parameters, _ = ft.file_transfer("a.txt", b"")
    # SEQUENCE { file-attributes [4] { pathname incomplete-pathname [0] { "a.txt" } } }
    assert ber.encode(parameters) == bytes.fromhex("300b a409 a007 1905") + b"a.txt"


def test_every_parameter_field() -> None:
    parameters = ft.FileTransferParameters()
    related = univ.Sequence(componentType=ft.RelatedStoredFile.componentType.componentType)
    pv = related["file-identifier"]["pathname-and-version"]
    pv["pathname"]["complete-pathname"].append("old.pdf")
    pv["file-version"] = "3"
    related["relationship"]["explicit-relationship"] = "replacement"
    parameters["related-stored-file"].append(related)
    doc = parameters["contents-type"]["document-type"]
    doc["document-type-name"] = ft.FTAM_1
    doc["parameter"] = ber.encode(univ.Sequence())
    env = parameters["environment"]
    env["application-reference"]["registered-identifier"] = (1, 2, 3, 4)
    env["machine"]["descriptive-identifier"].append("PDP-11")
    env["operating-system"] = (1, 2, 3, 5)
    env["user-visible-string"].append("made by hand")
    parameters["compression"]["compression-algorithm-id"] = (1, 2, 3, 6)
    parameters["compression"]["compression-algorithm-param"] = ber.encode(univ.Null())
    attrs = parameters["file-attributes"]
    attrs["pathname"]["incomplete-pathname"].append("new.pdf")
    attrs["permitted-actions"] = "read,insert"
    attrs["storage-account"]["actual-values"] = "acct-9"
    attrs["date-and-time-of-creation"]["actual-values"] = "20261128210358Z"
    attrs["date-and-time-of-last-modification"]["no-value-available"] = None
    attrs["identity-of-creator"]["actual-values"] = "jsmith"
    attrs["object-availability"]["actual-values"] = False
    attrs["object-size"]["actual-values"] = len(PDF)
    attrs["access-control"] = bytes.fromhex("8000")  # kept encoded: no-value-available
    attrs["attribute-extensions"] = bytes.fromhex("3000")  # contents octets
    parameters["extensions"].append(ipms.IPMSExtension())
    parameters["extensions"][0]["type"] = (1, 2, 3, 7)
    _, data = ft.file_transfer("new.pdf", PDF)
    extended = _through_an_ipm(_body_part(parameters, data))
    read = ipms.read_extended_body_part(extended)
    got = read.parameters
    assert str(got["file-attributes"]["date-and-time-of-creation"]["actual-values"]) == (
        "20261128210358Z"
    )
    assert int(got["file-attributes"]["object-size"]["actual-values"]) == len(PDF)
    assert bytes(got["file-attributes"]["access-control"]) == bytes.fromhex("8000")
    assert str(got["environment"]["machine"]["descriptive-identifier"][0]) == "PDP-11"
    transfer = ft.read_file_transfer(got, read.data)
    assert transfer.name == "new.pdf"
    assert transfer.document_type == tuple(ft.FTAM_1)


def test_name_from_a_related_stored_file() -> None:
    parameters = ft.FileTransferParameters()
    related = univ.Sequence(componentType=ft.RelatedStoredFile.componentType.componentType)
    path = related["file-identifier"]["pathname-and-version"]["pathname"]
    path["incomplete-pathname"].append("dir")
    path["incomplete-pathname"].append("only-here.bin")
    parameters["related-stored-file"].append(related)
    _, data = ft.file_transfer("ignored", b"x")
    read = ipms.read_extended_body_part(_through_an_ipm(_body_part(parameters, data)))
    assert ft.read_file_transfer(read.parameters, read.data).name == "only-here.bin"


def _external(encoding: str, value: bytes | str) -> Any:
    ext = External()
    ext["direct-reference"] = ft.FTAM_UNSTRUCTURED_BINARY
    ext["encoding"][encoding] = value
    return ext


def test_data_values_octet_aligned_and_text_are_concatenated() -> None:
    data = ft.FileTransferData()
    data.append(_external("octet-aligned", b"part one, "))
    data.append(_external("single-ASN1-type", ber.encode(char.GraphicString("part two, "))))
    data.append(_external("single-ASN1-type", ber.encode(univ.OctetString(b"part three"))))
    read = ipms.read_extended_body_part(
        _through_an_ipm(_body_part(ft.FileTransferParameters(), data))
    )
    transfer = ft.read_file_transfer(read.parameters, read.data)
    assert transfer.contents == b"part one, part two, part three"
    assert transfer.name is None


def test_no_parameters() -> None:
    _, data = ft.file_transfer("x", b"only data")
    part = ipms.extended_body_part(oids.id_et_file_transfer, data)
    read = ipms.read_extended_body_part(_through_an_ipm(part))
    assert read.parameters is None
    assert ft.read_file_transfer(None, read.data).contents == b"only data"


def test_arbitrary_encoding_is_refused() -> None:
    data = ft.FileTransferData()
    data.append(_external("arbitrary", "'0101'B"))
    with pytest.raises(ber.BERError, match="arbitrary"):
        ft.read_file_transfer(None, data)


def test_sent_with_indefinite_lengths_and_constructed_octets() -> None:
    """PP-style: the whole IPM indefinite, the file octets (the EXTERNAL's
    octet-aligned [1] IMPLICIT OCTET STRING) in constructed segments."""
    parameters, data = ft.file_transfer("figures.pdf", PDF)
    ipm = samples.simple_ipm()
    ipm["body"].append(_body_part(parameters, data))
    variant = berutil.to_indefinite(ber.encode(ipm), chunk=100, strings=frozenset({0x04, 0x81}))
    assert b"\xa1\x80\x04\x64%PDF" in variant
    decoded = ber.decode(variant, ipms.IPM())
    read = ipms.read_extended_body_part(decoded["body"][1]["extended"])
    transfer = ft.read_file_transfer(read.parameters, read.data)
    assert (transfer.name, transfer.contents) == ("figures.pdf", PDF)
