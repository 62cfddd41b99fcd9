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

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import PAYLOAD, measure, median, summary
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import sessionware
from sessionware.signing import Signer, derive_key

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105 - throwaway


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
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    cookie = seed.session_key
    assert cookie is not None
    counter = itertools.count()

    def load() -> object:
        return Store(cookie)["username"]

    def load_modify_save() -> object:
        session = Store(cookie)
        session["counter"] = next(counter)
        session.save()
        return session.session_key

    return load, load_modify_save, len(cookie)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000, help="operations per repeat")
    args = parser.parse_args()
    n, r = args.number, args.repeat

    ser, ser_name = serializer()
    raw = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    signer = Signer(SECRET, salt="bench")
    token = signer.sign(raw, compress=False)
    aead = AESGCM(derive_key(SECRET, "bench:aead"))
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, raw, b"e1")

    def floor_hmac() -> object:
        return signer.unsign(signer.sign(raw, compress=False))

    def floor_aes() -> object:
        return aead.decrypt(nonce, aead.encrypt(nonce, raw, b"e1"), b"e1")

    def floor_json() -> object:
        return json.loads(json.dumps(PAYLOAD))

    def floor_read_signed() -> object:
        return json.loads(signer.unsign(token))

    def floor_write_signed() -> object:
        data = json.loads(signer.unsign(token))
        data["counter"] = 1
        return signer.sign(json.dumps(data).encode(), compress=False)

    def floor_read_sealed() -> object:
        return json.loads(aead.decrypt(nonce, sealed, b"e1"))

    def floor_write_sealed() -> object:
        data = json.loads(aead.decrypt(nonce, sealed, b"e1"))
        data["counter"] = 1
        return aead.encrypt(os.urandom(12), json.dumps(data).encode(), b"e1")

    signed_load, signed_save, signed_len = session_ops(False, ser)
    sealed_load, sealed_save, sealed_len = session_ops(True, ser)
    engines = {
        mode: sessionware.get_engine("signed_cookies", secret_key=SECRET, encrypt=mode == "e1")
        for mode in ("s1", "e1")
    }
    key = sessionware.new_session_key()
    later = time.time() + 3600
    values = {mode: engine.save(key, raw, later) for mode, engine in engines.items()}

    def engine_load(mode: str) -> Callable[[], object]:
        return lambda: engines[mode].load(values[mode])

    def engine_save(mode: str) -> Callable[[], object]:
        return lambda: engines[mode].save(values[mode], raw, later)

    read_signed, write_signed = "floor: verify + json loads", "floor: verify + json + sign"
    read_sealed, write_sealed = "floor: decrypt + json loads", "floor: decrypt + json + encrypt"
    plan: list[tuple[str, Callable[[], object], str | None]] = [
        ("floor: HMAC-SHA256 sign + verify (Signer)", floor_hmac, None),
        ("floor: AES-256-GCM encrypt + decrypt", floor_aes, None),
        ("floor: json dumps + loads of PAYLOAD", floor_json, None),
        (read_signed, floor_read_signed, None),
        (write_signed, floor_write_signed, None),
        (read_sealed, floor_read_sealed, None),
        (write_sealed, floor_write_sealed, None),
        ("engine: signed load()", engine_load("s1"), None),
        ("engine: signed save()", engine_save("s1"), None),
        ("engine: encrypted load()", engine_load("e1"), None),
        ("engine: encrypted save()", engine_save("e1"), None),
        ("signed: SessionStore(cookie) + one read", signed_load, read_signed),
        ("signed: load + modify + save", signed_save, write_signed),
        ("encrypted: SessionStore(cookie) + one read", sealed_load, read_sealed),
        ("encrypted: load + modify + save", sealed_save, write_sealed),
    ]
    # Interleaved: each round times every operation once, so a burst of load
    # from elsewhere on the machine hits all of them alike and ratios hold.
    runs: dict[str, list[float]] = {name: [] for name, _, _ in plan}
    for _ in range(r):
        for name, fn, _ in plan:
            runs[name] += measure(fn, number=n, repeat=1)
    medians = {name: median(samples) for name, samples in runs.items()}
    print(
        f"signed_cookies; serializer: {ser_name}; PAYLOAD {len(raw)} B of JSON; cookie value "
        f"{signed_len} chars signed, {sealed_len} encrypted\n"
        f"{r} interleaved rounds x {n} ops, each after a warm-up; µs per op"
    )
    print(f"{'operation':46} {'median (p10-p90)':>28}  vs floor")
    for name, _, floor in plan:
        ratio = f"{medians[name] / medians[floor]:.2f}x" if floor else ""
        print(f"{name:46} {summary(runs[name]):>28}  {ratio}")


if __name__ == "__main__":
    main()
