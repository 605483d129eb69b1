"""Re-check the mutants a full mutmut run left alive, without re-running all of them.

A full run (benchmarks/mutation.py) takes over an hour on 2 cores. After tests are added for its
survivors, this script applies each survivor listed in ``benchmarks/results_mutation.txt``
(the line and its mutant, as ``mutmut show`` printed them) to a private copy of the repository,
runs the given tests against it, and prints killed / survived per mutant and a total. A mutant
whose line occurs more than once in its function is tried at each occurrence (killed only if
every one is). The working tree is never touched.

Usage:  .venv/bin/python benchmarks/mutation_recheck.py [--module models.allocation] [TEST ...]
        (default tests: tests/model/test_allocation.py tests/model/test_allocation_parts.py)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results_mutation.txt"
SURVIVOR = re.compile(r"^(?P<module>models\.\w+)\.(?P<func>\S+?)__mutmut_(?P<n>\d+)\s+\[survived\]")


def survivors(module: str) -> list[tuple[str, str, str, str]]:
    """(name, function, original line, mutated line) of every listed survivor of ``module``."""
    lines = RESULTS.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        m = SURVIVOR.match(line)
        if m and m["module"] == module:
            func = m["func"].split("ǁ")[-1].removeprefix("x_")
            out.append((f"{m['func']}_{m['n']}", func, lines[i + 1].strip()[2:], lines[i + 2].strip()[2:]))
    return out


def function_lines(source: list[str], func: str) -> range:
    start = next(k for k, line in enumerate(source) if re.match(rf"\s*def {re.escape(func)}\(", line))
    indent = len(source[start]) - len(source[start].lstrip())
    end = start + 1
    while end < len(source) and (not source[end].strip() or len(source[end]) - len(source[end].lstrip()) > indent):
        end += 1
    return range(start, end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", default="models.allocation")
    parser.add_argument(
        "tests", nargs="*", default=["tests/model/test_allocation.py", "tests/model/test_allocation_parts.py"]
    )
    args = parser.parse_args()
    rel = Path(*args.module.split(".")).with_suffix(".py")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "mutants", ".couponflow", "*.pyc"))
        target = copy / rel
        source = target.read_text().splitlines()
        verdicts: Counter[str] = Counter()
        for name, func, old, new in survivors(args.module):
            spots = [k for k in function_lines(source, func) if source[k].strip() == old.strip()]
            results = []
            for k in spots:
                mutated = list(source)
                mutated[k] = source[k][: len(source[k]) - len(source[k].lstrip())] + new.strip()
                target.write_text("\n".join(mutated) + "\n")
                done = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0"]
                    + args.tests,
                    cwd=copy,
                    capture_output=True,
                )
                results.append(done.returncode != 0)
            verdict = "not found" if not spots else ("killed" if all(results) else "survived")
            verdicts[verdict] += 1
            print(f"{name:<45} {verdict:<9} {new.strip()[:80]}", flush=True)
        target.write_text("\n".join(source) + "\n")
    total = sum(verdicts.values())
    print(
        f"\n{args.module}: {verdicts['killed']} of {total} listed survivors killed, "
        f"{verdicts['survived']} survive, {verdicts['not found']} not found"
    )


if __name__ == "__main__":
    main()
