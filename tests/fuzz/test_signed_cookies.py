"""Fuzz properties of the signed_cookies engine, in both formats: ``s1.`` signed, ``e1.`` sealed.

The engine's contract for hostile input is quiet: ``load`` returns ``None``
for anything forged, edited, truncated, expired or made with other keys,
and raises nothing. What it issues is cookie-safe and comes back unchanged;
a value made with a retired key comes back as a ``Reissue``.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import sessionware
from sessionware import Engine, InvalidSessionKey, Reissue, new_session_key

from ._settings import fuzz
from ._strategies import B64_ALPHABET, Edit, edits, strong_secret, tamper

KEYS = [strong_secret() for _ in range(3)]
_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")


def engine(*keys: str, encrypt: bool, compress: bool | None = None, salt: str | None = None) -> Any:
    options: dict[str, Any] = {"encrypt": encrypt, "compress": compress}
    if salt is not None:
        options["salt"] = salt
    return sessionware.get_engine(
        "signed_cookies", secret_key=keys[0], fallback_keys=list(keys[1:]), **options
    )


#: Every configuration, by name: both formats, each compression policy.
ENGINES: dict[str, Engine] = {
    "s1": engine(KEYS[0], encrypt=False),
    "s1-compressed": engine(KEYS[0], encrypt=False, compress=True),
    "s1-plain": engine(KEYS[0], encrypt=False, compress=False),
    "e1": engine(KEYS[0], encrypt=True),
    "e1-compressed": engine(KEYS[0], encrypt=True, compress=True),
}
FORMATS = ["s1", "e1"]
payloads = st.binary(max_size=700) | st.binary(max_size=30).map(lambda b: b * 25)
lifetimes = st.integers(1, 10**8)


@fuzz
@given(data=payloads, lifetime=lifetimes)
def test_a_value_comes_back_as_it_was_saved(data: bytes, lifetime: int) -> None:
    expires_at = time.time() + lifetime
    for name, eng in ENGINES.items():
        value = eng.save(new_session_key(), data, expires_at)
        assert value.startswith(name[:2] + "."), value[:8]
        assert _OCTETS.fullmatch(value), "the value is not cookie-safe"
        assert eng.is_valid_key(value)
        loaded = eng.load(value)
        assert loaded == data
        assert type(loaded) is bytes  # not a Reissue: the current key made it
        assert eng.exists(value)
        assert eng.save(value, data, expires_at)  # an update takes the current value as key


@fuzz
@given(data=payloads, plan=edits(), cookie_alphabet=st.booleans())
def test_any_edit_of_a_value_is_refused(
    data: bytes, plan: list[Edit], cookie_alphabet: bool
) -> None:
    expires_at = time.time() + 3600
    alphabet = B64_ALPHABET.encode() if cookie_alphabet else None
    for eng in ENGINES.values():
        value = eng.save(new_session_key(), data, expires_at).encode("ascii")
        forged = tamper(value, plan, alphabet).decode("latin-1")
        assert eng.load(forged) is None, f"an edited value was accepted: {forged[:60]!r}"
        assert not eng.exists(forged)


_shaped = st.builds(
    lambda prefix, body: f"{prefix}.{body}",
    st.sampled_from(["s1", "e1", "s2", "S1", "x", "e1.", "s1.."]),
    st.text(B64_ALPHABET, max_size=300),
)


@fuzz
@given(value=st.text(max_size=300) | _shaped | st.binary(max_size=40) | st.none() | st.integers())
@example(value="s1." + "A" * 5000)
@example(value="e1." + "A" * 4093)
@example(value="s1...." + "A" * 43)
def test_any_cookie_value_loads_as_none_without_raising(value: Any) -> None:
    for eng in ENGINES.values():
        assert isinstance(eng.is_valid_key(value), bool)
        assert eng.load(value) is None
        assert eng.exists(value) is False


@fuzz
@given(
    data=payloads,
    made_by=st.sampled_from(FORMATS),
    read_by=st.sampled_from(FORMATS),
    made_key=st.sampled_from(KEYS),
    read_keys=st.lists(st.sampled_from(KEYS), min_size=1, max_size=3),
    made_salt=st.sampled_from([None, "other"]),
    read_salt=st.sampled_from([None, "other"]),
)
def test_a_value_opens_only_under_its_format_keys_and_salt(
    data: bytes,
    made_by: str,
    read_by: str,
    made_key: str,
    read_keys: list[str],
    made_salt: str | None,
    read_salt: str | None,
) -> None:
    maker = engine(made_key, encrypt=made_by == "e1", salt=made_salt)
    reader = engine(*read_keys, encrypt=read_by == "e1", salt=read_salt)
    value = maker.save(new_session_key(), data, time.time() + 3600)
    loaded = reader.load(value)
    if made_by == read_by and made_salt == read_salt and made_key in read_keys:
        assert loaded == data
        # Opened with a retired key: reissued, so the response carries the current key.
        assert isinstance(loaded, Reissue) == (read_keys.index(made_key) > 0)
    else:
        assert loaded is None


@fuzz
@given(
    data=st.binary(max_size=64),
    expires_at=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**40), 2**40),
)
@example(data=b"x", expires_at=math.nan)
def test_expiry_inside_the_value_is_enforced(data: bytes, expires_at: float) -> None:
    now = time.time()
    for eng in ENGINES.values():
        value = eng.save(new_session_key(), data, expires_at)
        loaded = eng.load(value)
        if float(expires_at) > now + 1:
            assert loaded == data
        elif not float(expires_at) > now - 1:  # NaN included: never "not yet expired"
            assert loaded is None


@fuzz
@given(key=st.text(max_size=200) | st.sampled_from(["", ".", "../x", "s1", "a" * 5000]))
def test_save_under_a_key_that_is_not_one_raises_invalid_session_key(key: str) -> None:
    for eng in ENGINES.values():
        if eng.is_valid_key(key):
            continue
        with pytest.raises(InvalidSessionKey):
            eng.save(key, b"{}", time.time() + 60)
