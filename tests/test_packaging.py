"""The twistd plugin is found from a normal (non-editable) install too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_plugin_file_has_no_package_init() -> None:
    assert (ROOT / "twisted" / "plugins" / "mailgateway.py").is_file()
    assert not (ROOT / "twisted" / "__init__.py").exists()
    assert not (ROOT / "twisted" / "plugins" / "__init__.py").exists()


def test_plugin_found_from_a_wheel_install(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    assert (target / "twisted" / "plugins" / "mailgateway.py").is_file()
    assert (target / "gateway" / "bus" / "bus.py").is_file()
    # a fresh interpreter that sees the installed copy first, not the checkout
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from twisted.plugin import getPlugins;"
        "from twisted.application.service import IServiceMaker;"
        "import gateway;"
        "names = [p.tapname for p in getPlugins(IServiceMaker)];"
        "print(gateway.__file__); print('mailgateway' in names)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(target)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    where, found = result.stdout.split()
    assert where.startswith(str(target)), where
    assert found == "True"
