"""Serializers: dumps + loads of the benchmark session, each next to its floor.

json (the plugin) against stdlib ``json.dumps`` + ``json.loads``; msgpack (the
plugin) against bare ``msgpack.packb`` + ``msgpack.unpackb``; signed over json
against the core ``Signer`` signing and verifying the same json bytes (its
inner json is the other part of its cost). Floors and plugins are measured in
one run, their runs alternating, so compare ratios: absolute numbers move
+-30% between runs on a shared VM. A serializer whose plugin is not installed is skipped.

    python bench/bench_serializers.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from harness import PAYLOAD, SECRET
from harness.timing import interleave, median, summary

import sessionware
from sessionware import SerializerNotFound, signing

#: Runs of 2000 calls per measurement, floor and plugin alternating.
REPEATS = 15


def round_trip(ser: sessionware.Serializer) -> Callable[[], object]:
    return lambda: ser.loads(ser.dumps(PAYLOAD))


def installed(name: str, **options: object) -> sessionware.Serializer | None:
    try:
        ser: sessionware.Serializer = sessionware.get_serializer(name, **options)
    except SerializerNotFound as exc:  # the plugin, or for signed its inner json
        print(f"{name}: skipped, {exc}")
        return None
    return ser


def rows() -> list[tuple[str, Callable[[], object], str, Callable[[], object]]]:
    """(plugin label, plugin round trip, floor label, floor round trip) for each serializer."""
    found = []
    json_bytes = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    ser = installed("json")
    if ser is not None:
        found.append(
            (
                f"json plugin ({len(ser.dumps(PAYLOAD))} B)",
                round_trip(ser),
                "stdlib json.dumps + json.loads",
                lambda: json.loads(json.dumps(PAYLOAD)),
            )
        )
    ser = installed("msgpack")
    if ser is not None:
        import msgpack

        found.append(
            (
                f"msgpack plugin ({len(ser.dumps(PAYLOAD))} B)",
                round_trip(ser),
                "msgpack.packb + msgpack.unpackb",
                lambda: msgpack.unpackb(msgpack.packb(PAYLOAD)),
            )
        )
    ser = installed("signed", secret_key=SECRET, inner="json")
    if ser is not None:
        signer = signing.Signer(SECRET, salt="sessionware.signed")
        found.append(
            (
                f"signed(json) plugin ({len(ser.dumps(PAYLOAD))} B)",
                round_trip(ser),
                f"Signer sign + verify of the json bytes ({len(json_bytes)} B)",
                lambda: signer.unsign(signer.sign(json_bytes, compress=False)),
            )
        )
    return found


def main() -> None:
    print(
        f"python {sys.version.split()[0]}, sessionware {sessionware.__version__}; "
        f"µs per dumps + loads, median (p10-p90) of {REPEATS} runs x 2000, floor and plugin "
        "alternating"
    )
    medians: dict[str, float] = {}
    for label, plugin, floor_label, floor in rows():
        # Alternate floor and plugin runs, each after its own warm-up, so that load from
        # other processes on a shared VM falls on both alike and the ratio stays meaningful.
        runs = interleave(
            {"floor": floor, "plugin": plugin},
            number=2000,
            rounds=REPEATS,
            rotate=False,
            rewarm=True,
        )
        floor_runs, plugin_runs = runs["floor"], runs["plugin"]
        medians[label.split()[0]] = median(plugin_runs)
        ratio = median(plugin_runs) / median(floor_runs)
        print(f"  floor:  {floor_label:50} {summary(floor_runs)}")
        print(f"  plugin: {label:50} {summary(plugin_runs)}  {ratio:.2f}x the floor")
    if "json" in medians and "signed(json)" in medians:
        own = medians["signed(json)"] - medians["json"]
        print(f"  signed(json) minus the json plugin: {own:.2f} µs (the envelope's own cost)")


if __name__ == "__main__":
    main()
