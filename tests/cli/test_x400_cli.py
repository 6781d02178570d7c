"""``mailgateway x400 …``, run as the installed command would run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\nhostname="gw.example.test"\n'
        f'data_dir="{tmp_path / "var"}"\n'
        'local_domains=["example.test"]\n'
        f'[x400]\ntables="{ROOT / "conf" / "x400"}"\n'
        'or_address="/O=gw/PRMD=lab/ADMD= /C=GB/"\n'
    )
    return path


def mailgateway(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "--config", str(config), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def lines(out: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":  ") for ln in out.splitlines())}


def test_map_or_address_names_the_table_line(config: Path) -> None:
    done = mailgateway(
        config, "x400", "map", "/I=J/S=Linnimouth/OU=Marketing/O=Widget/ADMD=BTT/C=TC/"
    )
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    assert shown["RFC 822"] == "J.Linnimouth@Marketing.Widget.COM"  # RFC 2156 4.3.1
    assert shown["matched"].endswith(
        "mcgam-or-domain.table line 7: O$Widget.PRMD$@.ADMD$BTT.C$TC -> Widget.COM"
    )
    assert shown["mapped back"].endswith("(same)")


def test_map_rfc822_address_stage_two_via_gateway_table(config: Path) -> None:
    done = mailgateway(config, "x400", "map", "postmaster@UK.alter.net")
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    # RFC 2156 4.3.4 Stage II example 3
    assert (
        shown["O/R address"] == "/RFC-822=postmaster(a)UK.alter.net/PRMD=relay/ADMD=BTglobal/C=gb/"
    )
    assert (
        "gateway-domain-or.table line 5: alter.net -> PRMD$relay.ADMD$BTglobal.C$gb"
        in (shown["matched"])
    )
    assert shown["mapped back"] == "postmaster@UK.alter.net  (same)"


def test_map_unknown_domain_falls_back_to_the_gateway(config: Path) -> None:
    done = mailgateway(config, "x400", "map", "Tom_Harris@cs.nowhere.test")
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    assert (
        shown["O/R address"]
        == "/RFC-822=Tom(u)Harris(a)cs.nowhere.test/O=gw/PRMD=lab/ADMD= /C=GB/"
    )
    assert shown["matched"].startswith("no table line")


def test_map_bad_address_says_which_attribute(config: Path) -> None:
    done = mailgateway(config, "x400", "map", "/S=x/O=a~b/ADMD= /C=GB/")
    assert done.returncode == 65
    assert "attribute O: not PrintableString" in done.stderr
    assert done.stdout == ""
