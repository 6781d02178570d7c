"""8-bit to 7-bit conversion (RFC 6152 3) for servers without 8BITMIME."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from gateway.smtp.downgrade import DowngradeError, downgrade, headers_need_smtputf8


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_seven_bit_is_unchanged() -> None:
    data = b"Subject: x\r\n\r\nplain\r\n"
    assert downgrade(data) is data


def test_single_part_8bit_text_becomes_quoted_printable() -> None:
    text = "Grüße aus Köln =\r\n.dot line\r\n\ttab end \r\n" + "ä" * 400 + "\r\n"
    data = (
        "From: a@b.test\r\nSubject: x\r\n folded\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text
    ).encode()
    out = downgrade(data)
    assert out.isascii()
    assert all(len(line) <= 998 for line in out.split(b"\r\n"))  # RFC 5321 4.5.3.1.6
    assert b"\n" not in out.replace(b"\r\n", b"")
    assert out.startswith(b"From: a@b.test\r\nSubject: x\r\n folded\r\n")  # headers kept
    message = parse(out)
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.get_content() == text  # decodes back to the same text, CRLF and all


def test_no_transfer_encoding_header_is_added() -> None:
    data = "Content-Type: text/plain; charset=utf-8\r\n\r\nnaïve\r\n".encode()
    message = parse(downgrade(data))
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.get_content() == "naïve\r\n"


def test_multipart_text_to_qp_binary_to_base64_ascii_untouched() -> None:
    binary = bytes(range(256))
    data = (
        b"From: a@b.test\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\npreamble\r\n'
        b"--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nK\xf6ln\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + binary + b"\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nascii only\r\n"
        b"--XX--\r\n"
    )
    out = downgrade(data)
    assert out.isascii()
    parts = list(parse(out).iter_parts())
    assert [p["Content-Transfer-Encoding"] for p in parts] == [
        "quoted-printable",
        "base64",
        None,
    ]
    assert parts[0].get_content() == "Köln"
    assert parts[1].get_content() == binary
    assert parts[2].get_content() == "ascii only"


def test_nested_message_rfc822() -> None:
    data = (
        b"From: a@b.test\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="O"\r\n\r\n'
        b"--O\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9t\xc3\xa9\r\n"
        b"--O--\r\n"
    )
    out = downgrade(data)
    assert out.isascii()
    (part,) = parse(out).iter_parts()
    inner = part.get_content()
    assert inner.get_content() == "été"  # the CRLF before --O belongs to the boundary


def test_utf8_headers_need_smtputf8() -> None:
    data = "Subject: Grüße\r\n\r\nGrüße\r\n".encode()
    assert headers_need_smtputf8(data)
    with pytest.raises(DowngradeError) as e:
        downgrade(data)
    assert e.value.reply.status == "5.6.7"


def test_raw_8bit_headers_cannot_be_converted() -> None:
    with pytest.raises(DowngradeError) as e:
        downgrade(b"Subject: K\xf6ln\r\n\r\nx\r\n")
    assert e.value.reply.status == "5.6.3" and e.value.reply.permanent
    assert not headers_need_smtputf8(b"Subject: K\xf6ln\r\n\r\nx\r\n")


def test_8bit_part_header_cannot_be_converted() -> None:
    data = (
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        b'--XX\r\nContent-Disposition: attachment; filename="\xc3\xa9.txt"\r\n\r\nx\r\n--XX--\r\n'
    )
    with pytest.raises(DowngradeError):
        downgrade(data)
