"""Benchmark: the signed_cookies engine through SessionStore, signed and encrypted, vs the floor.

The floor is what a cookie session cannot avoid: HMAC-SHA256 sign + verify
(``sessionware.signing.Signer``), AES-256-GCM encrypt + decrypt of the same
bytes (one ``AESGCM`` object, reused), and json dumps + loads of the
benchmark session. Each session operation is compared with the floor made of
the same pieces, measured in the same run (absolute numbers move +-30%
between runs on a shared VM; ratios much less). Never imported by tests:

    .venv/bin/python bench/bench_signed_cookies.py [--repeat 15] [--number 2000]
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from harness import PAYLOAD, SECRET
from harness.sessions import load, load_modify_save, seeded
from harness.timing import counts, interleave, print_table

import sessionware
from sessionware.signing import Signer, derive_key

READ_SIGNED, WRITE_SIGNED = "floor: verify + json loads", "floor: verify + json + sign"
READ_SEALED, WRITE_SEALED = "floor: decrypt + json loads", "floor: decrypt + json + encrypt"
FLOORS = {
    "signed: SessionStore(cookie) + one read": READ_SIGNED,
    "signed: load + modify + save": WRITE_SIGNED,
    "encrypted: SessionStore(cookie) + one read": READ_SEALED,
    "encrypted: load + modify + save": WRITE_SEALED,
}


def serializer() -> tuple[sessionware.Serializer, str]:
    """The json plugin when installed (what applications use), else the kit's stdlib json."""
    try:
        return sessionware.get_serializer("json"), "json plugin"
    except sessionware.SerializerNotFound:
        from sessionware.testing import ReferenceSerializer  # needs pytest; only as a fallback

        return ReferenceSerializer(), "kit ReferenceSerializer"


def session_ops(
    encrypt: bool, ser: sessionware.Serializer
) -> tuple[Callable[[], object], Callable[[], object], int]:
    """(load + one read, load + modify + save, cookie length) for one engine mode."""
    Store = sessionware.session_store(
        engine="signed_cookies", secret_key=SECRET, encrypt=encrypt, serializer_instance=ser
    )
    cookie = seeded(Store)
    return load(Store, cookie), load_modify_save(Store, cookie), len(cookie)


def floor(raw: bytes) -> dict[str, Callable[[], object]]:
    """HMAC sign + verify, AES-GCM encrypt + decrypt, json, and the reads and writes they make."""
    signer = Signer(SECRET, salt="bench")
    token = signer.sign(raw, compress=False)
    aead, nonce = AESGCM(derive_key(SECRET, "bench:aead")), os.urandom(12)
    sealed = aead.encrypt(nonce, raw, b"e1")

    def write_signed() -> object:
        data = json.loads(signer.unsign(token))
        data["counter"] = 1
        return signer.sign(json.dumps(data).encode(), compress=False)

    def write_sealed() -> object:
        data = json.loads(aead.decrypt(nonce, sealed, b"e1"))
        data["counter"] = 1
        return aead.encrypt(os.urandom(12), json.dumps(data).encode(), b"e1")

    return {
        "floor: HMAC-SHA256 sign + verify (Signer)": lambda: signer.unsign(
            signer.sign(raw, compress=False)
        ),
        "floor: AES-256-GCM encrypt + decrypt": lambda: aead.decrypt(
            nonce, aead.encrypt(nonce, raw, b"e1"), b"e1"
        ),
        "floor: json dumps + loads of PAYLOAD": lambda: json.loads(json.dumps(PAYLOAD)),
        READ_SIGNED: lambda: json.loads(signer.unsign(token)),
        WRITE_SIGNED: write_signed,
        READ_SEALED: lambda: json.loads(aead.decrypt(nonce, sealed, b"e1")),
        WRITE_SEALED: write_sealed,
    }


def engines(raw: bytes) -> dict[str, Callable[[], object]]:
    """The engine's own load() and save(), signed and encrypted."""
    found: dict[str, Callable[[], object]] = {}
    later = time.time() + 3600
    for mode, encrypt in (("signed", False), ("encrypted", True)):
        engine = sessionware.get_engine("signed_cookies", secret_key=SECRET, encrypt=encrypt)
        value = engine.save(sessionware.new_session_key(), raw, later)
        found[f"engine: {mode} load()"] = lambda e=engine, v=value: e.load(v)
        found[f"engine: {mode} save()"] = lambda e=engine, v=value: e.save(v, raw, later)
    return found


def main() -> None:
    parser = counts(__doc__)
    args = parser.parse_args()
    n, r = args.number, args.repeat
    ser, ser_name = serializer()
    raw = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    ops = {**floor(raw), **engines(raw)}
    lengths = {}
    for mode, encrypt in (("signed", False), ("encrypted", True)):
        load, save, lengths[mode] = session_ops(encrypt, ser)
        ops[f"{mode}: SessionStore(cookie) + one read"] = load
        ops[f"{mode}: load + modify + save"] = save
    # Interleaved: each round times every operation once (after its own warm-up), so a
    # burst of load from elsewhere on the machine hits all of them alike and ratios hold.
    runs = interleave(ops, number=n, rounds=r, rotate=False, rewarm=True)
    print(
        f"signed_cookies; serializer: {ser_name}; PAYLOAD {len(raw)} B of JSON; cookie value "
        f"{lengths['signed']} chars signed, {lengths['encrypted']} encrypted\n"
        f"{r} interleaved rounds x {n} ops, each after a warm-up; µs per op"
    )
    print_table(runs, FLOORS, width=46)


if __name__ == "__main__":
    main()
