"""Tests for gateway.config: loading, validation messages, listener checks."""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import (
    KNOWN_LISTENERS,
    ConfigError,
    Settings,
    check_listeners,
    load,
    parse_duration,
    parse_size,
)

CONF = Path(__file__).resolve().parent.parent / "conf"
MINIMAL = '[server]\nlocal_domains = ["example.test"]\n'


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "gateway.toml"
        path.write_text(text)
        return path

    return write


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(path)
    return info.value


# --- valid files ------------------------------------------------------------


def test_default_config_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # data_dir "./var" resolves against the cwd
    settings = load(CONF / "gateway.toml")
    assert settings.source == CONF / "gateway.toml"
    assert settings.hostname == "mail.example.test"
    assert settings.data_dir == tmp_path / "var"
    assert settings.local_domains == ("example.test",)
    assert settings.users_file == tmp_path / "var" / "users"
    assert settings.aliases_file == tmp_path / "var" / "aliases"
    assert settings.listeners == {
        "http": "tcp:8025:interface=127.0.0.1",
        "smtp": "tcp:2525:interface=127.0.0.1",
        "submission": "tcp:2587:interface=127.0.0.1",
        "submissions": "tcp:2465:interface=127.0.0.1",
        "pop3": "tcp:1110:interface=127.0.0.1",
        "pop3s": "tcp:1995:interface=127.0.0.1",
        "imap": "tcp:1143:interface=127.0.0.1",
        "imaps": "tcp:1993:interface=127.0.0.1",
        "x400": "tcp:10102:interface=127.0.0.1",
    }
    assert settings.x400.peers == {}
    assert settings.smtp.trusted_networks == ()
    assert settings.tls.certificate is None and settings.tls.key is None
    assert settings.control_socket == tmp_path / "var" / "run" / "control.sock"
    assert settings.queue_dir == tmp_path / "var" / "queue"


def test_production_example_loads() -> None:
    settings = load(CONF / "production.toml.example")
    assert settings.hostname == "mail.example.org"
    assert settings.data_dir == Path("/var/lib/mailgateway")
    assert settings.tls.min_version == "1.2"
    assert settings.queue.lifetime == 5 * 86400
    assert settings.limits.max_message_size == 35 * 1024 * 1024


def test_production_example_documents_every_key() -> None:
    """Every field of every settings section appears in the example."""
    text = (CONF / "production.toml.example").read_text()
    settings = load(CONF / "production.toml.example")
    for section in ("tls", "queue", "delivery", "limits", "dns"):
        for field in type(getattr(settings, section)).__slots__:
            assert f"\n{field} = " in text, f"{section}.{field}"
    for key in ("hostname", "data_dir", "local_domains", "users_file", "aliases_file"):
        assert f"\n{key} = " in text


def test_defaults(write: Callable[[str], Path]) -> None:
    settings = load(write(MINIMAL))
    assert settings.log_level == "info"
    assert settings.listeners == {}
    assert settings.queue.retry_first == 300
    assert settings.queue.retry_max == 3600
    assert settings.queue.retry_factor == 2.0
    assert settings.queue.delay_warning == 4 * 3600
    assert settings.queue.max_deliveries == 100
    assert settings.queue.segment_size == 64 * 1024 * 1024
    assert settings.queue.history_days == 30
    assert settings.delivery.max_alias_depth == 10
    assert settings.dns.servers == ()
    assert settings.dns.timeout == 5.0
    assert settings.tls.min_version == "1.2"
    assert settings.stop_timeout == 30.0
    assert settings.delivery.process is True
    assert settings.pop3.workers == min(os.cpu_count() or 1, 64)  # "auto"


def test_values_are_converted(write: Callable[[str], Path]) -> None:
    settings = load(
        write(
            '[server]\nlocal_domains = ["Example.TEST", "other.test", "example.test"]\n'
            'hostname = "MX.Example.test"\n'
            'stop_timeout = "2m"\n'
            '[queue]\nretry_first = 60\nretry_max = "2h"\nlifetime = "1w"\n'
            'segment_size = "4K"\n'
            '[dns]\nservers = ["127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1"]\n'
            'timeout = "30s"\n'
        )
    )
    assert settings.local_domains == ("example.test", "other.test")
    assert settings.hostname == "mx.example.test"
    assert settings.stop_timeout == 120
    assert settings.queue.retry_first == 60
    assert settings.queue.retry_max == 7200
    assert settings.queue.lifetime == 7 * 86400
    assert settings.queue.segment_size == 4096
    assert settings.dns.servers == (
        ("127.0.0.1", 53),
        ("127.0.0.1", 5353),
        ("::1", 53),
        ("::1", 53),
    )
    assert settings.dns.timeout == 30


def test_settings_are_frozen(write: Callable[[str], Path]) -> None:
    settings: Settings = load(write(MINIMAL))
    with pytest.raises(AttributeError):
        settings.hostname = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.listeners["http"] = "tcp:1"  # type: ignore[index]


def test_known_listeners_are_accepted(write: Callable[[str], Path]) -> None:
    lines = "".join(f'{name} = "tcp:8000:interface=127.0.0.1"\n' for name in KNOWN_LISTENERS)
    settings = load(write(MINIMAL + "[listeners]\n" + lines))
    assert set(settings.listeners) == set(KNOWN_LISTENERS)


# --- errors name the key ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        # unknown keys and sections
        (MINIMAL + "colour = 'blue'\n", "server.colour", "unknown key; known keys are: hostname"),
        (MINIMAL + "[smtpd]\n", "smtpd", "unknown section; known sections are: server"),
        (MINIMAL + "[listeners]\nfoo = 'tcp:25'\n", "listeners.foo", "unknown listener"),
        # wrong types
        (MINIMAL + "hostname = 5\n", "server.hostname", "expected a string, got integer 5"),
        (MINIMAL + "[queue]\nmax_deliveries = '3'\n", "queue.max_deliveries", "expected an int"),
        (MINIMAL + "[dns]\nservers = '1.1.1.1'\n", "dns.servers", "expected an array"),
        ("server = 1\n", "server", "expected a table, got integer 1"),
        # bad values
        (
            MINIMAL + "[queue]\nlifetime = 'soon'\n",
            "queue.lifetime",
            "expected a duration like '5d' or a number of seconds, got 'soon'",
        ),
        (MINIMAL + "[queue]\nretry_first = -5\n", "queue.retry_first", "expected a duration"),
        (MINIMAL + "[limits]\nmax_message_size = '35X'\n", "limits.max_message_size", "size"),
        (MINIMAL + "[queue]\nretry_first = '2h'\n", "queue.retry_max", "at least"),
        (MINIMAL + "[queue]\nlifetime = '10m'\n", "queue.lifetime", "at least"),
        (MINIMAL + "[queue]\nmax_deliveries = 0\n", "queue.max_deliveries", "at least 1"),
        (MINIMAL + "[delivery]\nmax_alias_depth = 101\n", "delivery.max_alias_depth", "100"),
        (MINIMAL + "log_level = 'loud'\n", "server.log_level", "expected one of"),
        (MINIMAL + "stop_timeout = 'soon'\n", "server.stop_timeout", "duration"),
        (MINIMAL + "[pop3]\nworkers = 'many'\n", "pop3.workers", '"auto"'),
        (MINIMAL + "[pop3]\nworkers = 65\n", "pop3.workers", "64"),
        (MINIMAL + "[tls]\nmin_version = '1.1'\n", "tls.min_version", "'1.2', '1.3'"),
        (MINIMAL + "hostname = 'bad_name.test'\n", "server.hostname", "not a valid domain"),
        ("[server]\nlocal_domains = ['-x.test']\n", "server.local_domains", "not a valid"),
        ("[server]\nlocal_domains = []\n", "server.local_domains", "at least one"),
        ("[server]\n", "server.local_domains", "missing"),
        (MINIMAL + "[dns]\nservers = ['1.1.1.1:0']\n", "dns.servers", "port"),
        (MINIMAL + "[dns]\nservers = ['resolver']\n", "dns.servers", "not an IP address"),
        # listener endpoint strings
        (MINIMAL + "[listeners]\nhttp = 'bogus:80'\n", "listeners.http", "Unknown endpoint"),
        (MINIMAL + "[listeners]\nhttp = 'tcp:http'\n", "listeners.http", "endpoint string"),
        (MINIMAL + "[listeners]\nhttp = 'tcp:70000'\n", "listeners.http", "65535"),
        (MINIMAL + "[listeners]\nhttp = 'tcp:0'\n", "listeners.http", "65535"),
        # TLS files
        (MINIMAL + "[tls]\nkey = '/etc/hostname'\n", "tls.certificate", "required when"),
    ],
)
def test_error_names_the_key(
    write: Callable[[str], Path], text: str, key: str, problem: str
) -> None:
    path = write(text)
    error = load_error(path)
    assert error.file == path
    assert error.key == key
    assert problem in error.problem
    assert str(error) == f"{path}: {key}: {error.problem}"


def test_missing_certificate_file(write: Callable[[str], Path], tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("x")
    missing = tmp_path / "nope.pem"
    error = load_error(write(MINIMAL + f"[tls]\ncertificate = '{missing}'\nkey = '{key}'\n"))
    assert error.key == "tls.certificate"
    assert error.problem == f"file not found: {missing}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_key_file(write: Callable[[str], Path], tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    key.chmod(0)
    error = load_error(write(MINIMAL + f"[tls]\ncertificate = '{cert}'\nkey = '{key}'\n"))
    assert error.key == "tls.key"
    assert "not readable" in error.problem


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    error = load_error(path)
    assert str(error) == f"{path}: configuration file not found"


def test_toml_syntax_error_gives_the_line(write: Callable[[str], Path]) -> None:
    error = load_error(write(MINIMAL + "\n[queue\n"))
    assert error.key == ""
    assert "TOML syntax error" in error.problem
    assert "line 4" in error.problem


def test_first_error_is_reported(write: Callable[[str], Path]) -> None:
    error = load_error(write(MINIMAL + "[queue]\nlifetime = 'x'\nretry_max = 'y'\n"))
    assert error.key == "queue.lifetime"


def test_relative_paths_resolve_against_cwd(
    write: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load(write(MINIMAL + "data_dir = 'data'\nusers_file = 'etc/users'\n"))
    assert settings.data_dir == elsewhere / "data"
    assert settings.users_file == elsewhere / "etc" / "users"
    assert settings.aliases_file == elsewhere / "data" / "aliases"


# --- check_listeners --------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_port_in_use(write: Callable[[str], Path], busy_port: int) -> None:
    path = write(MINIMAL + f"[listeners]\nhttp = 'tcp:{busy_port}:interface=127.0.0.1'\n")
    problems = check_listeners(load(path))
    assert len(problems) == 1
    assert problems[0].key == "listeners.http"
    assert "already in use" in problems[0].problem
    assert str(busy_port) in str(problems[0])


def test_free_port_is_fine(write: Callable[[str], Path]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write(MINIMAL + f"[listeners]\nhttp = 'tcp:{port}:interface=127.0.0.1'\n")
    assert check_listeners(load(path)) == []


def test_bad_interface(write: Callable[[str], Path]) -> None:
    # 192.0.2.0/24 is TEST-NET-1: never an address of this host.
    path = write(MINIMAL + "[listeners]\nhttp = 'tcp:8025:interface=192.0.2.1'\n")
    problems = check_listeners(load(path))
    assert [p.key for p in problems] == ["listeners.http"]
    assert "bad interface" in problems[0].problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root may bind low ports")
def test_privileged_port(write: Callable[[str], Path]) -> None:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) <= 1:
                pytest.skip("unprivileged low ports are allowed on this host")
    except OSError:
        pass
    problems = check_listeners(load(write(MINIMAL + "[listeners]\nhttp = 'tcp:1'\n")))
    assert "permission denied" in problems[0].problem


def test_unix_listener_directory(write: Callable[[str], Path], tmp_path: Path) -> None:
    good = tmp_path / "run" / "sub" / "http.sock"
    settings = load(write(MINIMAL + f"[listeners]\nhttp = 'unix:{good}'\n"))
    assert check_listeners(settings) == []
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = load(write(MINIMAL + f"[listeners]\nhttp = 'unix:{blocker}/http.sock'\n"))
    problems = check_listeners(settings)
    assert [p.key for p in problems] == ["listeners.http"]
    assert "not a directory" in problems[0].problem


# --- durations and sizes ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("5d", 432000), ("1w", 604800), (90, 90),
     ("90", 90), (1.5, 1.5), ("1.5h", 5400), (" 2 H ", 7200)],
)  # fmt: skip
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0", 0, -1, "5x", "h", "-5m", True, math.inf])
def test_parse_duration_rejects(text: str | int | float) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("35M", 35 << 20), ("64M", 64 << 20), ("4K", 4096), ("1G", 1 << 30), (512, 512),
     ("512", 512), ("4k", 4096), ("10MB", 10 << 20), ("2MiB", 2 << 20)],
)  # fmt: skip
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "big", "0", 0, -1, "1.5M", "5X", False])
def test_parse_size_rejects(text: str | int) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@given(st.one_of(st.text(), st.integers(), st.floats()))
def test_parse_duration_is_positive_or_value_error(value: str | int | float) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError:
        return
    assert isinstance(seconds, float)
    assert seconds > 0 and math.isfinite(seconds)


@given(st.one_of(st.text(), st.integers(), st.from_regex(r"\A[0-9]{1,30}[kKmMgGtT]?\Z")))
def test_parse_size_is_positive_or_value_error(value: str | int) -> None:
    try:
        size = parse_size(value)
    except ValueError:
        return
    assert isinstance(size, int)
    assert size > 0


def test_relay_next_hops_and_tls_policies(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        MINIMAL + "[relay]\n"
        'smarthost = "Smtp.Example.net:587"\n'
        'transports = { "partner.test" = "[192.0.2.25]:2525", "other.test" = "mx.other.test" }\n'
        'tls = "encrypt"\n'
        'tls_policy = { "bank.test" = "verify" }\n'
    )
    relay = load(path).relay
    assert relay.smarthost is not None and str(relay.smarthost) == "smtp.example.net:587"
    assert {d: str(h) for d, h in relay.transports.items()} == {
        "partner.test": "[192.0.2.25]:2525",
        "other.test": "mx.other.test:25",
    }
    assert relay.tls == "encrypt" and relay.tls_policy == {"bank.test": "verify"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('smarthost = "[192.0.2.1"', "unclosed address literal"),
        ('smarthost = "host:port"', "expected host:port"),
        ('smarthost = "host:70000"', "port out of range"),
        ('tls = "sometimes"', "relay.tls"),
        ('tls_policy = { "x.test" = "maybe" }', "x.test"),
    ],
)
def test_relay_errors_name_the_key(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(f"{MINIMAL}[relay]\n{line}\n")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load(path)


def test_x400_section(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        MINIMAL + "[x400]\n"
        'tables = "tables"\n'
        'domain = "X400.Example.Test"\n'
        'or_address = "/O=gw/PRMD=lab/ADMD= /C=GB/"\n'
        'mta_name = "mta.lab"\n'
        "max_conversions = 3\n"
        'max_length = "1M"\n'
    )
    x400 = load(path).x400
    assert x400.tables.name == "tables" and x400.tables.is_absolute()
    assert x400.domain == "x400.example.test"
    assert x400.or_address == "/O=gw/PRMD=lab/ADMD= /C=GB/"
    assert (x400.mta_name, x400.max_conversions, x400.max_length) == ("mta.lab", 3, 1 << 20)
    assert x400.max_depth == 64  # default kept


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('or_address = "/S=Smith/O=Acme/"', "x400.or_address: needs at least C and ADMD"),
        ('or_address = "/Q=1/Q=2/C=GB/"', "x400.or_address"),
        ('or_address = "/O=a~b/ADMD= /C=GB/"', "attribute O"),
        ('mta_name = "' + "m" * 33 + '"', "x400.mta_name: expected at most 32"),
        ("max_depth = 2", "x400.max_depth: must be between 8 and 10000"),
        ('domain = "bad domain"', "x400.domain"),
    ],
)
def test_x400_errors_name_the_key(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(f"{MINIMAL}[x400]\n{line}\n")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load(path)


# --- [x400] P1: listener limits and peers --------------------------------------

PEER = '[x400.peers.lab]\nmta_name = "mta.lab.test"\npassword = "theirs"\nour_password = "ours"\n'


def test_x400_p1_defaults(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(MINIMAL + PEER)
    x400 = load(path).x400
    assert (x400.tsap, x400.max_connections, x400.max_apdu) == ("x400in88", 20, 64 << 20)
    assert (x400.bind_timeout, x400.idle_timeout) == (60.0, 600.0)
    peer = x400.peers["lab"]
    assert (peer.name, peer.mta_name, peer.password, peer.our_password) == (
        "lab",
        "mta.lab.test",
        "theirs",
        "ours",
    )
    assert (peer.host, peer.port, peer.tsap, peer.ssap, peer.psap) == ("", 102, "x400in88", "", "")
    assert (peer.or_space, peer.max_connections, peer.dialogue_mode) == ((), 2, "monologue")
    assert (peer.checkpoint_size, peer.window_size, peer.content_1984) == (63, 3, False)
    assert (peer.connect_timeout, peer.bind_timeout, peer.transfer_timeout) == (30, 60, 600)
    assert "theirs" not in repr(peer) and "ours" not in repr(peer)  # never in a log line


def test_x400_peer_every_key(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        MINIMAL + "[listeners]\nx400 = 'tcp:10102:interface=127.0.0.1'\n"
        "[x400]\ntsap = \"'0103'H\"\nmax_connections = 3\nmax_apdu = '1M'\n"
        "bind_timeout = '5s'\nidle_timeout = '1m'\n" + PEER + 'host = "127.0.0.1"\n'
        "port = 10103\n"
        'tsap = "591"\nssap = "s"\npsap = "p"\n'
        'or_space = ["/PRMD=Lab/ADMD= /C=GB/", "/O=Far/ADMD=Gold 400/C=GB/"]\n'
        "max_connections = 4\ncheckpoint_size = 0\nwindow_size = 5\n"
        'dialogue_mode = "twa"\ncontent_1984 = true\n'
        'connect_timeout = "2s"\nbind_timeout = "3s"\ntransfer_timeout = "4s"\n'
        'idle_timeout = "5s"\n'
        "[x400.peers.in-only]\n"
        'mta_name = "mta.other"\npassword = "a"\nour_password = "b"\n'
    )
    settings = load(path)
    assert settings.listeners["x400"] == "tcp:10102:interface=127.0.0.1"
    x400 = settings.x400
    assert (x400.tsap, x400.max_connections, x400.max_apdu) == ("'0103'H", 3, 1 << 20)
    peer = x400.peers["lab"]
    assert (peer.host, peer.port, peer.tsap, peer.ssap, peer.psap) == (
        "127.0.0.1",
        10103,
        "591",
        "s",
        "p",
    )
    assert peer.or_space == ("/PRMD=Lab/ADMD= /C=GB/", "/O=Far/ADMD=Gold 400/C=GB/")
    assert (peer.max_connections, peer.checkpoint_size, peer.window_size) == (4, 0, 5)
    assert (peer.dialogue_mode, peer.content_1984) == ("twa", True)
    assert (peer.connect_timeout, peer.bind_timeout) == (2, 3)
    assert (peer.transfer_timeout, peer.idle_timeout) == (4, 5)
    assert x400.peers["in-only"].host == ""


def test_parse_selector() -> None:
    from gateway.config import parse_selector

    assert parse_selector("x400in88") == b"x400in88"
    assert parse_selector("'0103'H") == b"\x01\x03"
    assert parse_selector("") == b""
    with pytest.raises(ValueError):
        parse_selector("x" * 33)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[x400]\npeers = 3\n", "x400.peers: expected tables [x400.peers.<name>]"),
        (
            '[x400.peers.lab]\nmta_name = "m"\npassword = "p"\n',
            "x400.peers.lab.our_password: missing",
        ),
        ('[x400.peers.lab]\npassword = "p"\nour_password = "o"\n', "x400.peers.lab.mta_name"),
        (
            '[x400.peers.lab]\nmta_name = "m"\npassword = ""\nour_password = "o"\n',
            "x400.peers.lab.password: must not be empty",
        ),
        (PEER + "colour = 1\n", "x400.peers.lab.colour: unknown key"),
        (PEER + "port = 0\n", "x400.peers.lab.port: must be between 1 and 65535"),
        (PEER + 'host = "bad host"\n', "x400.peers.lab.host: not a valid domain name"),
        (PEER + 'tsap = "' + "t" * 33 + '"\n', "x400.peers.lab.tsap: expected ASCII text"),
        (PEER + "tsap = \"'0g'H\"\n", "x400.peers.lab.tsap"),
        (PEER + 'dialogue_mode = "duplex"\n', "x400.peers.lab.dialogue_mode: expected one of"),
        (PEER + "content_1984 = 1\n", "x400.peers.lab.content_1984: expected true or false"),
        (PEER + 'bind_timeout = "soon"\n', "x400.peers.lab.bind_timeout: expected a duration"),
        (PEER + "max_connections = 0\n", "x400.peers.lab.max_connections: must be between"),
        (PEER + 'or_space = "/C=GB/"\n', "x400.peers.lab.or_space: expected an array"),
        (
            PEER + 'host = "h.test"\nor_space = ["/S=Smith/PRMD=Lab/ADMD= /C=GB/"]\n',
            "x400.peers.lab.or_space: '/S=Smith/PRMD=Lab/ADMD= /C=GB/': a prefix holds only",
        ),
        (PEER + 'host = "h.test"\nor_space = ["/O=Lab/"]\n', "needs at least C"),
        (PEER + 'or_space = ["/PRMD=Lab/ADMD= /C=GB/"]\n', "x400.peers.lab.host: required"),
        (
            PEER + "[x400.peers.twin]\n"
            'mta_name = "MTA.lab.test"\npassword = "p"\nour_password = "o"\n',
            "x400.peers.twin.mta_name: 'MTA.lab.test' is also the MTA name of peer 'lab'",
        ),
        (
            PEER + 'host = "a.test"\nor_space = ["/PRMD=Lab/ADMD= /C=GB/"]\n'
            "[x400.peers.twin]\n"
            'mta_name = "m2"\npassword = "p"\nour_password = "o"\nhost = "b.test"\n'
            'or_space = ["/PRMD=lab/ADMD=/C=gb/"]\n',
            "x400.peers.twin.or_space: '/PRMD=lab/ADMD=/C=gb/' is also in the or_space of peer",
        ),
        ('[x400.peers."bad name"]\n', "x400.peers.bad name: a peer name is"),
        ("[x400]\ntsap = 1\n", "x400.tsap: expected a string"),
        ("[x400]\nmax_apdu = 0\n", "x400.max_apdu: expected a size"),
        ("[x400]\nmax_connections = 0\n", "x400.max_connections: must be at least 1"),
        ("[listeners]\nx400 = 'tcp:notaport'\n", "listeners.x400: not a valid Twisted endpoint"),
    ],
)
def test_x400_peer_errors_name_the_key(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(MINIMAL + text)
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load(path)


def test_production_example_documents_x400_p1() -> None:
    from gateway.config import X400Peer, X400Settings

    text = (CONF / "production.toml.example").read_text()
    for name in X400Settings.__dataclass_fields__:
        if name != "peers":
            assert f"\n{name} = " in text, f"x400.{name}"
    for name in X400Peer.__dataclass_fields__:
        if name != "name":
            assert f"\n# {name} = " in text, f"x400.peers.<name>.{name}"
    assert '\nx400 = "tcp:102"' in text


def test_x400_file_channel_peer_needs_no_passwords(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        MINIMAL + "[x400.peers.legacy]\n"
        'mta_name = "legacy.test"\n'
        f'file_in = "{tmp_path / "in"}"\n'
        f'file_out = "{tmp_path / "out"}"\n'
        'file_interval = "2s"\n'
        'or_space = ["/PRMD=Legacy/ADMD= /C=GB/"]\n'
    )
    peer = load(path).x400.peers["legacy"]
    assert (peer.file_in, peer.file_out) == (tmp_path / "in", tmp_path / "out")
    assert (peer.file_interval, peer.host, peer.password) == (2.0, "", "")


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        # a P1 peer still needs both passwords
        ('host = "mta.test"\nfile_in = "/tmp/in"\n', "x400.peers.legacy.password: missing"),
        # mail for its space must have somewhere to go
        ('file_in = "/tmp/in"\nor_space = ["/PRMD=L/ADMD= /C=GB/"]\n', "set file_out"),
    ],
)
def test_x400_file_channel_peer_errors(tmp_path: Path, lines: str, problem: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(f'{MINIMAL}[x400.peers.legacy]\nmta_name = "legacy.test"\n{lines}')
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load(path)
