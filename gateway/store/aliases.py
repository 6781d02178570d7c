"""The ``aliases`` file: one level of alias expansion.

One alias per line::

    # comment
    postmaster@example.test   alice@example.test
    team@example.test: bob@example.test, carol@elsewhere.example

The alias is followed by whitespace and/or ``:``; targets are addresses
(local or remote) separated by commas and/or whitespace. Only whole-line
``#`` comments exist (``#`` is legal in a local part, RFC 5322 3.2.3), and
quoted local parts containing spaces or commas cannot be written here.
Lookups fold the local part (:meth:`gateway.envelope.Address.key`).

Expanding chains, detecting loops and limiting depth is the router's job;
this table gives one level (:meth:`AliasFile.targets`). The running daemon
re-reads the file when it changes, like the users file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zope.interface import implementer

from gateway.envelope import Address, AddressError
from gateway.interfaces import IAliasTable
from gateway.store.watched import (
    WatchedTable,
    edit_lines,
    find_line,
    has_surrogates,
    is_skipped,
    read_entries,
)

__all__ = [
    "AliasEntry",
    "AliasExists",
    "AliasFile",
    "AliasFileError",
    "NoSuchAlias",
    "add_alias",
    "delete_alias",
    "format_alias",
    "list_aliases",
    "parse_aliases",
    "read_aliases",
]

# The alias: no whitespace or ':' except inside a trailing domain literal.
_LINE = re.compile(r"^(?P<alias>[^\s:\[]+(?:\[[^\]]*\])?)(?:\s*:\s*|\s+)(?P<targets>.*)$")
_SEPARATORS = re.compile(r"[,\s]+")


class AliasFileError(Exception):
    """An aliases-file operation that cannot be done (message says why)."""


class NoSuchAlias(AliasFileError):
    """The alias is not in the aliases file."""


class AliasExists(AliasFileError):
    """Nothing to add: the alias already has all the given targets."""


@dataclass(frozen=True, slots=True)
class AliasEntry:
    """One alias line: the alias as written and its direct targets."""

    alias: Address
    targets: tuple[Address, ...]
    line: int


def _parse_line(line: str) -> tuple[Address, tuple[Address, ...]]:
    """Split one alias line; raises ValueError with the reason."""
    if has_surrogates(line):
        raise ValueError("line is not valid UTF-8")
    m = _LINE.match(line.strip())
    if m is None:
        raise ValueError("alias has no targets")
    try:
        alias = Address.parse(m.group("alias"))
    except AddressError as e:
        raise ValueError(f"bad alias: {e}") from None
    targets: list[Address] = []
    seen: set[str] = set()
    for word in _SEPARATORS.split(m.group("targets")):
        if not word:
            continue
        try:
            target = Address.parse(word)
        except AddressError as e:
            raise ValueError(f"bad target of {alias}: {e}") from None
        if target.key() not in seen:
            seen.add(target.key())
            targets.append(target)
    if not targets:
        raise ValueError(f"alias {alias} has no targets")
    return alias, tuple(targets)


def parse_aliases(text: str, filename: str) -> tuple[dict[str, AliasEntry], list[str]]:
    """Parse an aliases file: entries keyed by :meth:`Address.key`, and errors.

    Each error reads ``filename:line: reason`` and its line is skipped whole
    (a half-read alias would silently lose mail). On a duplicate alias the
    first line wins.
    """
    aliases: dict[str, AliasEntry] = {}
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if is_skipped(line):
            continue
        try:
            alias, targets = _parse_line(line)
        except ValueError as e:
            errors.append(f"{filename}:{number}: {e}")
            continue
        key = alias.key()
        if key in aliases:
            errors.append(
                f"{filename}:{number}: duplicate alias {alias} (first on line {aliases[key].line})"
            )
            continue
        aliases[key] = AliasEntry(alias, targets, number)
    return aliases, errors


@implementer(IAliasTable)
class AliasFile(WatchedTable[AliasEntry]):
    """The aliases file as an :class:`IAliasTable`, reloaded on change."""

    def _parse(self, text: str, filename: str) -> tuple[dict[str, AliasEntry], list[str]]:
        return parse_aliases(text, filename)

    def targets(self, address: Address) -> tuple[Address, ...] | None:
        entry = self.entry(address)
        return None if entry is None else entry.targets


# --- mutations for the CLI --------------------------------------------------


def format_alias(alias: Address, targets: Iterable[Address]) -> str:
    """One aliases-file line."""
    return f"{alias}  " + ", ".join(str(t) for t in targets)


def _alias_of(line: str) -> Address:
    return _parse_line(line)[0]


def read_aliases(path: Path) -> tuple[list[AliasEntry], list[str]]:
    """The aliases in file order and the file's parse errors."""
    return read_entries(path, parse_aliases)


def list_aliases(path: Path) -> list[AliasEntry]:
    """The aliases in file order (bad lines skipped; see :func:`read_aliases`)."""
    return read_aliases(path)[0]


def add_alias(path: Path, alias: Address, targets: Iterable[Address]) -> tuple[Address, ...]:
    """Add ``targets`` to ``alias`` (created if new); returns all its targets.

    Targets it already has are not added twice (compared by
    :meth:`Address.key`); :class:`AliasExists` if nothing is new.
    """
    new = list(targets)
    if not new:
        raise AliasFileError(f"{alias}: an alias needs at least one target")
    for address in (alias, *new):
        if any(c in str(address) for c in ", \t\r\n") or str(address).startswith("#"):
            raise AliasFileError(f"{address}: cannot be written in the aliases file")
    with edit_lines(path) as lines:
        index = find_line(lines, alias, _alias_of)
        written, found = (alias, ()) if index is None else _parse_line(lines[index])
        current = list(found)
        keys = {t.key() for t in current}
        added = False
        for target in new:
            if target.key() not in keys:
                keys.add(target.key())
                current.append(target)
                added = True
        if not added:
            raise AliasExists(f"{alias}: already has all these targets")
        line = format_alias(written, current)
        if index is None:
            lines.append(line)
        else:
            lines[index] = line
        return tuple(current)


def delete_alias(path: Path, alias: Address) -> None:
    """Remove an alias; :class:`NoSuchAlias` if it is not there."""
    with edit_lines(path) as lines:
        index = find_line(lines, alias, _alias_of)
        if index is None:
            raise NoSuchAlias(f"{alias}: no such alias in {path}")
        del lines[index]
