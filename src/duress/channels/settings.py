"""Small helpers for reading one channel's settings mapping strictly (errors name key, value and fix)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from duress.domain.errors import ConfigError


class Reader:
    """Pops keys from a mapping, collecting one problem per bad value; :meth:`done` raises them all."""

    def __init__(self, data: dict[str, Any] | None, where: str) -> None:
        if data is not None and not isinstance(data, dict):
            raise ConfigError([f"{where}: expected a mapping of settings, got {data!r}"])
        self.data = dict(data or {})
        self.where = where
        self.problems: list[str] = []

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}"

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.data.pop(key, None)
        if value is None:
            if required:
                self.problems.append(f"{self._name(key)}: missing; add it")
            return default or ""
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.problems.append(f"{self._name(key)}: {value!r} must be text")
            return default or ""
        return str(value)

    def optional(self, key: str) -> str | None:
        value = self.string(key)
        return value or None

    def url(
        self, key: str, *, required: bool = False, schemes: tuple[str, ...] = ("http", "https")
    ) -> str:
        value = self.string(key, required=required)
        if value:
            parts = urlsplit(value)
            if parts.scheme not in schemes or not parts.netloc:
                self.problems.append(
                    f"{self._name(key)}: {value!r} is not a {'/'.join(schemes)} URL; "
                    "write it like https://host:port/path"
                )
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.data.pop(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
            self.problems.append(
                f"{self._name(key)}: {value!r} must be a number of at least {minimum:g}"
            )
            return default
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0, maximum: int = 65535) -> int:
        value = self.data.pop(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            self.problems.append(
                f"{self._name(key)}: {value!r} must be a whole number from {minimum} to {maximum}"
            )
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.pop(key, default)
        if not isinstance(value, bool):
            self.problems.append(f"{self._name(key)}: {value!r} must be true or false")
            return default
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.data.pop(key, default)
        if value not in options:
            self.problems.append(f"{self._name(key)}: {value!r} is not one of {', '.join(options)}")
            return default
        return str(value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self.data.pop(key, None) or {}
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            self.problems.append(f"{self._name(key)}: {value!r} must be a mapping of names to text")
            return {}
        return {k: str(v) for k, v in value.items()}

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.pop(key, None) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problems.append(f"{self._name(key)}: {value!r} must be a list of text")
            return ()
        return tuple(str(v) for v in value)

    def section(self, key: str) -> Reader:
        """A nested mapping read by its own :class:`Reader`; finish it with :meth:`absorb`."""
        value = self.data.pop(key, None)
        if value is not None and not isinstance(value, dict):
            self.problems.append(f"{self._name(key)}: {value!r} must be a mapping")
            value = None
        return Reader(value, self._name(key))

    def absorb(self, sub: Reader) -> None:
        """Take a nested reader's problems (and its unknown keys) into this one's."""
        self.problems += sub.problems
        self.problems += [
            f"{sub._name(k)}: unknown key; remove it or check the spelling"
            for k in sorted(sub.data)
        ]

    def done(self) -> None:
        self.problems += [
            f"{self._name(k)}: unknown key; remove it or check the spelling"
            for k in sorted(self.data)
        ]
        if self.problems:
            raise ConfigError(self.problems)
