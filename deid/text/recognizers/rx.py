"""Regular expressions with a time limit, for the free-text recognizers.

Notes are untrusted text and the recognizers run hundreds of patterns over them: one
pattern that backtracks badly on one odd note would stall a whole build. Like Presidio,
the recognizers match with the ``regex`` module, whose matching takes a ``timeout``;
every call here passes :data:`TIMEOUT_SECONDS`. A note that hits it raises
:class:`PatternTimeout`, and the scrubber fails that record loudly (nothing is released
half-scrubbed).

The API is the part of :mod:`re` the recognizers use: ``compile`` (and ``Pattern`` /
``Match`` for annotations), ``search``, ``match``, ``fullmatch``, ``finditer``,
``findall``, ``sub``, ``split``, ``escape`` and the flags. ``regex`` runs in its
``VERSION0`` mode, which follows ``re``'s rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import regex as _regex

__all__ = [
    "IGNORECASE",
    "MULTILINE",
    "TIMEOUT_SECONDS",
    "VERBOSE",
    "I",
    "M",
    "Match",
    "Pattern",
    "PatternTimeout",
    "X",
    "compile",
    "escape",
    "findall",
    "finditer",
    "fullmatch",
    "match",
    "search",
    "split",
    "sub",
]

#: The longest one pattern may take on one text (seconds). Real notes match in
#: microseconds; only pathological backtracking gets near this.
TIMEOUT_SECONDS = 2.0

I = IGNORECASE = int(_regex.IGNORECASE)  # noqa: E741 - the re name
M = MULTILINE = int(_regex.MULTILINE)
X = VERBOSE = int(_regex.VERBOSE)
DOTALL = int(_regex.DOTALL)


class PatternTimeout(TimeoutError):
    """A pattern ran past :data:`TIMEOUT_SECONDS` on one text."""


class Match(Protocol):
    """What the recognizers read from a match (``regex``'s match object has all of it)."""

    string: str

    def group(self, *groups: int | str) -> Any: ...
    def groups(self, default: Any = None) -> tuple[Any, ...]: ...
    def groupdict(self, default: Any = None) -> dict[str, Any]: ...
    def start(self, group: int | str = 0) -> int: ...
    def end(self, group: int | str = 0) -> int: ...
    def span(self, group: int | str = 0) -> tuple[int, int]: ...
    def __getitem__(self, group: int | str) -> Any: ...


def _timeout(pattern: str) -> PatternTimeout:
    return PatternTimeout(
        f"a PHI pattern ran over {TIMEOUT_SECONDS:g} s on one note ({pattern[:40]!r}...)"
    )


class Pattern:
    """A compiled pattern whose every match runs under the time limit."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self._compiled: Any = _regex.compile(pattern, flags | _regex.VERSION0)

    def search(self, string: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        try:
            found: Match | None = self._compiled.search(
                string, pos, endpos, timeout=TIMEOUT_SECONDS
            )
        except TimeoutError:
            raise _timeout(self.pattern) from None
        return found

    def match(self, string: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        try:
            found: Match | None = self._compiled.match(string, pos, endpos, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            raise _timeout(self.pattern) from None
        return found

    def fullmatch(self, string: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        try:
            found: Match | None = self._compiled.fullmatch(
                string, pos, endpos, timeout=TIMEOUT_SECONDS
            )
        except TimeoutError:
            raise _timeout(self.pattern) from None
        return found

    def finditer(self, string: str, pos: int = 0, endpos: int | None = None) -> Iterator[Match]:
        try:
            yield from self._compiled.finditer(string, pos, endpos, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            raise _timeout(self.pattern) from None

    def findall(self, string: str, pos: int = 0, endpos: int | None = None) -> list[Any]:
        try:
            found: list[Any] = self._compiled.findall(string, pos, endpos, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            raise _timeout(self.pattern) from None
        return found

    def sub(self, repl: str | Callable[[Match], str], string: str, count: int = 0) -> str:
        try:
            out: str = self._compiled.sub(repl, string, count, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            raise _timeout(self.pattern) from None
        return out

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        try:
            out: list[str] = self._compiled.split(string, maxsplit, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            raise _timeout(self.pattern) from None
        return out

    def __repr__(self) -> str:
        return f"rx.compile({self.pattern!r})"


_CACHE: dict[tuple[str, int], Pattern] = {}


def compile(pattern: str, flags: int = 0) -> Pattern:
    key = (pattern, flags)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = _CACHE[key] = Pattern(pattern, flags)
    return compiled


def search(pattern: str, string: str, flags: int = 0) -> Match | None:
    return compile(pattern, flags).search(string)


def match(pattern: str, string: str, flags: int = 0) -> Match | None:
    return compile(pattern, flags).match(string)


def fullmatch(pattern: str, string: str, flags: int = 0) -> Match | None:
    return compile(pattern, flags).fullmatch(string)


def finditer(pattern: str, string: str, flags: int = 0) -> Iterator[Match]:
    return compile(pattern, flags).finditer(string)


def findall(pattern: str, string: str, flags: int = 0) -> list[Any]:
    return compile(pattern, flags).findall(string)


def sub(
    pattern: str, repl: str | Callable[[Match], str], string: str, count: int = 0, flags: int = 0
) -> str:
    return compile(pattern, flags).sub(repl, string, count)


def split(pattern: str, string: str, maxsplit: int = 0, flags: int = 0) -> list[str]:
    return compile(pattern, flags).split(string, maxsplit)


def escape(text: str) -> str:
    escaped: str = _regex.escape(text)
    return escaped
