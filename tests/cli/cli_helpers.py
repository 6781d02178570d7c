"""Running ``mailgateway`` as the installed command runs, for the CLI tests.

Not a test module. :func:`write_config` writes a small configuration file,
:func:`mailgateway` runs ``python -m gateway.cli.main --config FILE ...`` in a
subprocess from the checkout and gives its exit status and output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "mailgateway", "write_config"]


def write_config(
    directory: Path,
    extra: str = "",
    *,
    hostname: str = "gw.example.test",
    local_domains: tuple[str, ...] = ("example.test",),
) -> Path:
    """``directory/gateway.toml``: ``[server]`` with ``hostname``, a data
    directory under ``directory`` and ``local_domains``, then ``extra``
    (more TOML tables)."""
    domains = ", ".join(f'"{d}"' for d in local_domains)
    path = directory / "gateway.toml"
    path.write_text(
        f'[server]\nhostname = "{hostname}"\n'
        f'data_dir = "{directory / "var"}"\n'
        f"local_domains = [{domains}]\n" + extra,
        encoding="utf-8",
    )
    return path


def mailgateway(
    config: Path, *argv: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``mailgateway --config CONFIG ARGV...``; output as text."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "--config", str(config), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=ROOT,
    )
