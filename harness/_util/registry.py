"""A named family of interchangeable components, filled with a decorator."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to members of one family (schedules, samplers, ...); all share one signature."""

    def __init__(self, family: str, doc: str) -> None:
        self.family = family  # e.g. "schedule"; used in error messages and `harness components`
        self.doc = doc  # one line: what the members of this family are
        self._members: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that adds a member under `name`; a name may be registered once."""

        def add(member: T) -> T:
            if name in self._members:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._members[name] = member
            return member

        return add

    def get(self, name: str) -> T:
        """The member called `name`; an unknown name fails with the closest valid one."""
        try:
            return self._members[name]
        except KeyError:
            raise ConfigError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        valid = ", ".join(self.names())
        close = difflib.get_close_matches(str(name), self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.family} {name!r}{hint}; valid: {valid}"

    def names(self) -> list[str]:
        return list(self._members)

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def items(self) -> list[tuple[str, T]]:
        return list(self._members.items())
