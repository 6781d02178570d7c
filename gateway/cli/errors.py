"""How the admin commands report errors: one stderr line and a sysexits(3) status.

A handler decorated with :func:`command` runs as straight-line code: the
store calls it makes sit in a ``with reported(file):`` block, which turns
the errors they raise into a ``mailgateway: …`` line on stderr and the
handler's exit status (see :data:`_STATUS`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from gateway.cli.main import EX_CANTCREAT, EX_DATAERR, EX_IOERR, EX_NOUSER, EX_OK
from gateway.envelope import AddressError
from gateway.store.aliases import AliasExists, AliasFileError, NoSuchAlias
from gateway.store.users import NoSuchUser, UserFileError

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["CommandExit", "command", "error", "fail", "reported"]

Handler = Callable[[argparse.Namespace, "Settings"], int]

#: The status of each store error, first match wins (so subclasses first).
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (AliasExists, EX_OK),  # nothing new to add is not a failure
    (NoSuchUser, EX_NOUSER),
    (NoSuchAlias, EX_NOUSER),
    (UserFileError, EX_DATAERR),  # UserExists, or not storable
    (AliasFileError, EX_DATAERR),
)


class CommandExit(Exception):
    """Ends a :func:`command` with ``status``; its message is already printed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def error(message: str) -> None:
    """Print ``mailgateway: message`` to stderr."""
    print(f"mailgateway: {message}", file=sys.stderr)


def fail(message: str, status: int) -> NoReturn:
    """Print ``message`` (see :func:`error`) and end the command with ``status``."""
    error(message)
    raise CommandExit(status)


def command(handler: Handler) -> Handler:
    """Make ``handler`` return the status of a :class:`CommandExit` it raises."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return handler(args, settings)
        except CommandExit as e:
            return e.status

    return run


@contextlib.contextmanager
def reported(
    path: Path | None = None,
    *,
    reading: bool = False,
    invalid: type[ValueError] = AddressError,
    prefix: str = "",
) -> Iterator[None]:
    """Turn the errors raised in the block into :func:`fail`.

    ``invalid`` (an :class:`AddressError` unless told) gives EX_DATAERR, the
    store errors of :data:`_STATUS` their status, each with its message after
    ``prefix``. An :class:`OSError` on ``path`` gives ``cannot write <path>:
    <reason>`` and EX_CANTCREAT, or with ``reading`` ``cannot read …`` and
    EX_IOERR; without ``path`` it propagates, as does anything else.
    """
    try:
        yield
    except invalid as e:
        fail(f"{prefix}{e}", EX_DATAERR)
    except OSError as e:
        if path is None:
            raise
        if reading:
            fail(f"cannot read {path}: {e.strerror or e}", EX_IOERR)
        fail(f"cannot write {path}: {e.strerror or e}", EX_CANTCREAT)
    except (UserFileError, AliasFileError) as e:
        status = next(status for kind, status in _STATUS if isinstance(e, kind))
        fail(f"{prefix}{e}", status)
