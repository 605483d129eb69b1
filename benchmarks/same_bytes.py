"""Same bytes, precisely: publish a reference lake, or compare two lakes as DESIGN.md says.

    python benchmarks/same_bytes.py publish HOME     # daily 2017-10-30, train, daily 2017-11-15,
                                                     # replay 2017-10-30, into a fresh HOME
    python benchmarks/same_bytes.py compare LAKE_A LAKE_B

A refactor must leave every data object and report byte-identical; manifests may differ only in
``code_version``. ``runs/`` (ids, times) and the registry's decision log (it only grows) are
never compared; a JSON object that records the code version (a model card) may differ in it alone.
Prints one line per difference and exits 1 if there is any.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

STEPS = (
    ["daily", "--date", "2017-10-30"],
    ["train"],
    ["daily", "--date", "2017-11-15"],
    ["daily", "--date", "2017-10-30", "--replay"],
)
NEVER_COMPARED = ("runs/", "registry/decisions/")


def publish(home: Path) -> None:
    env = {**os.environ, "COUPONFLOW_HOME": str(home)}
    exe = Path(sys.executable).with_name("couponflow")
    for step in STEPS:
        print("couponflow", " ".join(step), flush=True)
        subprocess.run([str(exe), *step], env=env, check=True)


def _objects(lake: Path) -> dict[str, Path]:
    return {
        p.relative_to(lake).as_posix(): p
        for p in sorted(lake.rglob("*"))
        if p.is_file() and not p.relative_to(lake).as_posix().startswith(NEVER_COMPARED)
    }


def _without_code_version(obj):
    if isinstance(obj, dict):
        return {k: _without_code_version(v) for k, v in obj.items() if k != "code_version"}
    if isinstance(obj, list):
        return [_without_code_version(v) for v in obj]
    return obj


def _json(data: bytes):
    try:
        return json.loads(data)
    except ValueError:
        return None


def _comparable(m: dict, prefix: str, versioned: set[str]) -> dict:
    """A manifest without code_version, and without the sha256/size of objects in ``versioned``."""
    m = _without_code_version(m)
    for o in m.get("objects", []):
        if f"{prefix}/{o['name']}" in versioned:
            o.pop("sha256", None)
            o.pop("bytes", None)
    return m


def compare(a: Path, b: Path) -> list[str]:
    """Differences beyond ``code_version``. A JSON object that records the code version (a model
    card) may differ in it, and so may the sha256 and size its manifest lists for it."""
    left, right = _objects(a), _objects(b)
    diffs = [f"only in {a}: {k}" for k in sorted(left.keys() - right.keys())]
    diffs += [f"only in {b}: {k}" for k in sorted(right.keys() - left.keys())]
    versioned: set[str] = set()  # JSON objects equal but for code_version
    for key in sorted(left.keys() & right.keys()):
        x, y = left[key].read_bytes(), right[key].read_bytes()
        if x == y:
            continue
        jx, jy = (_json(x), _json(y)) if key.endswith(".json") else (None, None)
        if jx is not None and _without_code_version(jx) == _without_code_version(jy):
            versioned.add(key)
        elif not key.endswith("manifest.json"):
            diffs.append(f"bytes differ: {key}")
    for key in sorted(left.keys() & right.keys()):
        if not key.endswith("manifest.json") or left[key].read_bytes() == right[key].read_bytes():
            continue
        prefix = key.rsplit("/", 1)[0]
        if _comparable(json.loads(left[key].read_bytes()), prefix, versioned) != _comparable(
            json.loads(right[key].read_bytes()), prefix, versioned
        ):
            diffs.append(f"manifest differs beyond code_version: {key}")
    return diffs


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "publish":
        publish(Path(argv[1]).resolve())
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        a, b = (Path(p).resolve() for p in argv[1:])
        diffs = compare(a, b)
        print("\n".join(diffs) if diffs else f"same bytes: {len(_objects(a))} objects compared")
        return 1 if diffs else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
