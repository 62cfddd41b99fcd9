"""Option checks for engines and serializers, with one message shape for every plugin.

An engine's or serializer's options are its constructor's keyword
arguments; the core rejects unknown names, the plugin checks the values.
``OptionChecker`` does the common kinds (counts, seconds, switches,
choices, text, files, directories, secrets) so that every plugin says the
same thing the same way::

    db engine option 'batch_size': expected a positive int (rows per batch), got 0

and sets ``ConfigurationError.field`` to ``engine_options.batch_size``
(``serializer_options.<option>`` for a serializer). Checks that only one
plugin needs (a table name, a URL) stay in that plugin and raise
``error``, so their messages take the same shape. Nothing
here imports a plugin or the cryptography library.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Sequence
from typing import Literal, overload

from ._errors import ConfigurationError
from ._secrets import HOW_TO_GENERATE, check_secret

__all__ = ["OptionChecker"]

#: Longer option values are cut in messages: the point is to recognise the value.
_SHOWN = 100


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


class OptionChecker:
    """The option checks of one engine or serializer.

    Build one per plugin, next to the class it checks for, and call it from
    ``__init__``::

        _options = OptionChecker("memory", "engine")

        class MemoryEngine(EngineBase):
            def __init__(self, *, max_sessions: int = 10_000) -> None:
                self.max_sessions = _options.integer(
                    "max_sessions", max_sessions, what="the most sessions kept at once"
                )

    Every check returns the value in canonical form (a path made absolute, a
    choice in its listed spelling, an int as ``float`` for seconds) or raises
    ``ConfigurationError`` from ``error``. ``bool`` is
    never taken for a number, and NaN and infinities are never numbers of
    seconds.
    """

    __slots__ = ("_label", "kind", "name")

    def __init__(self, name: str, kind: Literal["engine", "serializer"]) -> None:
        if kind not in ("engine", "serializer"):
            raise ValueError(f"kind must be 'engine' or 'serializer', got {kind!r}")
        #: The engine's or serializer's registered name, e.g. ``"db"``.
        self.name = name
        #: ``"engine"`` or ``"serializer"``: which ``*_options`` the options come from.
        self.kind = kind
        self._label = f"{name} {kind}"

    def __repr__(self) -> str:
        return f"<OptionChecker for the {self._label}>"

    def error(self, option: str, problem: str) -> ConfigurationError:
        """The error for a bad value of ``option``; ``problem`` says what is wrong and the fix.

        The message reads ``<name> <kind> option '<option>': <problem>`` and
        ``field`` is ``<kind>_options.<option>``. Raise it: ``raise
        checker.error("table", f"{table!r} is reserved; choose another name")``.
        """
        return ConfigurationError(
            f"{self._label} option {option!r}: {problem}", field=f"{self.kind}_options.{option}"
        )

    @overload
    def integer(
        self,
        option: str,
        value: object,
        *,
        minimum: int = ...,
        maximum: int | None = ...,
        what: str = ...,
        allow_none: Literal[False] = ...,
    ) -> int: ...

    @overload
    def integer(
        self,
        option: str,
        value: object,
        *,
        minimum: int = ...,
        maximum: int | None = ...,
        what: str = ...,
        allow_none: bool,
    ) -> int | None: ...

    def integer(
        self,
        option: str,
        value: object,
        *,
        minimum: int = 1,
        maximum: int | None = None,
        what: str = "",
        allow_none: bool = False,
    ) -> int | None:
        """An ``int`` from ``minimum`` (default 1) to ``maximum`` (default: no bound).

        ``what`` says what it counts (``"rows per batch"``); ``allow_none``
        lets ``None`` through (no limit).
        """
        if value is None and allow_none:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            if maximum is not None:
                expected = f"an int from {minimum} to {maximum}"
            elif minimum == 1:
                expected = "a positive int"
            elif minimum == 0:
                expected = "a non-negative int"
            else:
                expected = f"an int >= {minimum}"
            if what:
                expected += f" ({what})"
            if allow_none:
                expected += " or None"
            raise self.error(option, f"expected {expected}, got {_shown(value)}")
        return value

    @overload
    def seconds(
        self,
        option: str,
        value: object,
        *,
        allow_zero: bool = ...,
        allow_none: Literal[False] = ...,
    ) -> float: ...

    @overload
    def seconds(
        self, option: str, value: object, *, allow_zero: bool = ..., allow_none: bool
    ) -> float | None: ...

    def seconds(
        self, option: str, value: object, *, allow_zero: bool = False, allow_none: bool = False
    ) -> float | None:
        """A finite number of seconds (``int`` or ``float``), returned as ``float``.

        Positive unless ``allow_zero``; ``allow_none`` lets ``None`` (no
        limit) through.
        """
        if value is None and allow_none:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
            or (value == 0 and not allow_zero)
        ):
            expected = "a non-negative" if allow_zero else "a positive"
            none = " or None (no limit)" if allow_none else ""
            raise self.error(
                option, f"expected {expected} number of seconds{none}, got {_shown(value)}"
            )
        return float(value)

    @overload
    def boolean(self, option: str, value: object, *, allow_none: Literal[False] = ...) -> bool: ...

    @overload
    def boolean(self, option: str, value: object, *, allow_none: bool) -> bool | None: ...

    def boolean(self, option: str, value: object, *, allow_none: bool = False) -> bool | None:
        """``True`` or ``False`` exactly (not ``1``, not ``"yes"``); ``None`` if ``allow_none``."""
        if value is None and allow_none:
            return None
        if not isinstance(value, bool):
            allowed = "True, False or None" if allow_none else "True or False"
            raise self.error(option, f"expected {allowed}, got {_shown(value)}")
        return value

    def one_of(
        self, option: str, value: object, choices: Sequence[str], *, ignore_case: bool = False
    ) -> str:
        """One of ``choices``, returned as spelled there (``ignore_case``: "full" gives "FULL")."""
        if isinstance(value, str):
            if value in choices:
                return value
            if ignore_case:
                folded = value.casefold()
                for choice in choices:
                    if choice.casefold() == folded:
                        return choice
        raise self.error(option, f"expected one of {', '.join(choices)}, got {_shown(value)}")

    @overload
    def text(
        self,
        option: str,
        value: object,
        *,
        allow_empty: bool = ...,
        allow_none: Literal[False] = ...,
        secret: bool = ...,
    ) -> str: ...

    @overload
    def text(
        self,
        option: str,
        value: object,
        *,
        allow_empty: bool = ...,
        allow_none: bool,
        secret: bool = ...,
    ) -> str | None: ...

    def text(
        self,
        option: str,
        value: object,
        *,
        allow_empty: bool = False,
        allow_none: bool = False,
        secret: bool = False,
    ) -> str | None:
        """A ``str``, non-empty unless ``allow_empty``; ``None`` if ``allow_none``.

        With ``secret`` (a password), the message names the value's type,
        never the value.
        """
        if value is None and allow_none:
            return None
        if not isinstance(value, str) or (not value and not allow_empty):
            expected = "a str" if allow_empty else "a non-empty str"
            if allow_none:
                expected += " or None"
            got = type(value).__name__ if secret else _shown(value)
            raise self.error(option, f"expected {expected}, got {got}")
        return value

    @overload
    def file(
        self,
        option: str,
        value: object,
        *,
        must_exist: bool = ...,
        what: str = ...,
        allow_none: Literal[False] = ...,
    ) -> str: ...

    @overload
    def file(
        self,
        option: str,
        value: object,
        *,
        must_exist: bool = ...,
        what: str = ...,
        allow_none: bool,
    ) -> str | None: ...

    def file(
        self,
        option: str,
        value: object,
        *,
        must_exist: bool = True,
        what: str = "file",
        allow_none: bool = False,
    ) -> str | None:
        """A file path (``str`` or ``os.PathLike``), returned absolute, with ``~`` expanded.

        Absolute at once, so that a later ``chdir`` cannot point the plugin at
        another file. ``must_exist``: the file must be there (a certificate).
        Otherwise it may be created later (a database): its directory must
        exist and the path must not be a directory. ``what`` names the file
        in messages (``"database file"``).
        """
        if value is None and allow_none:
            return None
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value:
            raise self.error(option, f"expected a {what} path (str or Path), got {_shown(value)}")
        path = os.path.abspath(os.path.expanduser(value))
        if must_exist:
            if not os.path.isfile(path):
                raise self.error(option, f"{path} does not exist or is not a file")
            return path
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            raise self.error(
                option, f"the directory {parent} (for {path}) does not exist; create it first"
            )
        if os.path.isdir(path):
            raise self.error(option, f"{path} is a directory; name a {what} in it")
        return path

    def directory(self, option: str, value: object) -> str:
        """An existing directory (``str`` or ``os.PathLike``), returned absolute.

        Whether the process may write there is the plugin's to prove (by
        creating a file): permission bits cannot tell.
        """
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value:
            raise self.error(
                option, f"expected a directory path (str or Path), got {_shown(value)}"
            )
        path = os.path.abspath(os.path.expanduser(value))
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise self.error(
                option,
                f"the directory {path} does not exist; create it (for example: mkdir -p -m 700 "
                f"{path}) or point {option!r} at an existing directory",
            ) from None
        except OSError as exc:
            raise self.error(option, f"cannot use {path}: {exc.strerror or exc}") from exc
        if not stat.S_ISDIR(info.st_mode):
            raise self.error(
                option, f"{path} is not a directory; point {option!r} at a directory, not a file"
            )
        return path

    def secret_key(self, value: object) -> str | bytes:
        """The secret that signs (or encrypts): present, and strong enough.

        For plugins that set ``uses_secret = True``: the core passes the
        configured ``secret_key``, so the field is ``secret_key`` (not an
        option of the plugin's). The strength rule is
        ``sessionware.signing.check_secret``'s; the message never shows
        the secret.
        """
        if value is None or (isinstance(value, (str, bytes)) and not value):
            raise ConfigurationError(
                f"the {self._label} needs secret_key: set it (SESSIONWARE_SECRET_KEY, or "
                f"secret_key= in the configuration) to a long random string, e.g. from "
                f"{HOW_TO_GENERATE}",
                field="secret_key",
            )
        if not isinstance(value, (str, bytes)):
            raise ConfigurationError(
                f"{self._label}: secret_key must be a str or bytes, got {type(value).__name__}; "
                f"set it to a long random string, e.g. from {HOW_TO_GENERATE}",
                field="secret_key",
            )
        return check_secret(value)

    def fallback_keys(self, value: object) -> tuple[str | bytes, ...]:
        """Retired secrets, newest first, each as strong as ``secret_key`` asks.

        A list or tuple; a lone ``str`` is refused rather than read as a list
        of characters. Messages name the position, never a secret.
        """
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ConfigurationError(
                f"{self._label}: fallback_keys must be a list of retired secrets (str or "
                f"bytes, newest first), got {type(value).__name__}; wrap a single key in a list",
                field="fallback_keys",
            )
        keys = tuple(value)
        for index, key in enumerate(keys):
            if not isinstance(key, (str, bytes)) or not key:
                what = f"an empty {type(key).__name__}" if key in ("", b"") else type(key).__name__
                raise ConfigurationError(
                    f"{self._label}: fallback_keys[{index}] must be a non-empty str or bytes, "
                    f"got {what}",
                    field="fallback_keys",
                )
            check_secret(key, name=f"fallback_keys[{index}]", field="fallback_keys")
        return keys
