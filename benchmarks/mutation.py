"""Mutation score of the decision modules: run mutmut 3 and print killed / survived / total per module.

A mutant is a small change to the code (a ``<`` turned ``<=``, a constant changed, a line
dropped); a test suite that still passes with it cannot tell the two programs apart. The score
says how much of the decision logic (allocation, policy, eligibility, promotion, measurement) the
fast model tests actually pin down. What is mutated and which tests run is the ``[mutmut]``
section of setup.cfg (no torch training, no landed year, no Prefect).

mutmut copies the project into ``mutants/`` in the repository root and keeps its verdicts there;
by default this script starts from an empty ``mutants/`` so that a run measures today's code and
tests, not a cache of an earlier run. ``mutants/`` must not be committed.

Usage:  .venv/bin/python benchmarks/mutation.py [--max-children 2] [--keep] [--survivors] [--diffs]
        --keep reuses mutants/ (mutmut re-runs only what changed), --survivors lists every mutant
        that was not killed, --diffs also prints its diff (mutmut show).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"
# a mutant's name is module + "." + mangled function: x_solve__mutmut_3, xǁ_Pairsǁpick__mutmut_7
NAME = re.compile(r"^(?P<module>.+?)\.x(?:_|ǁ).*__mutmut_\d+$")
KILLED = ("killed", "timeout", "caught by type check")  # mutmut's own badge counts timeouts as kills


def run_mutmut(max_children: int, keep: bool) -> float:
    """Run ``mutmut run`` in the repository root; returns the wall time in seconds."""
    if not keep and (ROOT / "mutants").exists():
        shutil.rmtree(ROOT / "mutants")
    start = time.perf_counter()
    done = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(max_children)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"mutmut run failed ({done.returncode}):\n{done.stdout[-4000:]}")
    return time.perf_counter() - start


def verdicts() -> dict[str, str]:
    """Every mutant's status from ``mutmut results --all true`` (lines ``    name: status``)."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    pairs = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in pairs if NAME.match(name)}


def module_of(name: str) -> str:
    match = NAME.match(name)
    assert match, name
    return match["module"]


def table(status_by_name: dict[str, str]) -> str:
    """One row per module: killed (incl. timeouts), survived, other (no tests, suspicious...), total, score."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in status_by_name.items():
        counts[module_of(name)][status] += 1
        counts["all"][status] += 1
    rows = [f"{'module':<22} {'killed':>7} {'survived':>9} {'other':>6} {'total':>6} {'score':>7}"]
    for module in sorted(counts, key=lambda m: (m == "all", m)):
        c = counts[module]
        killed, survived, total = sum(c[s] for s in KILLED), c["survived"], sum(c.values())
        other = total - killed - survived
        rows.append(f"{module:<22} {killed:>7} {survived:>9} {other:>6} {total:>6} {killed / total:>7.1%}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant workers (2-core machine: 2)")
    parser.add_argument("--keep", action="store_true", help="reuse mutants/ and its cached verdicts")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that were not killed")
    parser.add_argument("--diffs", action="store_true", help="with --survivors: print each one's diff")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(
        f"# {datetime.now().isoformat(timespec='seconds')}  commit {commit.strip()}  "
        f"command: .venv/bin/python benchmarks/mutation.py {' '.join(sys.argv[1:])}".rstrip()
    )
    seconds = run_mutmut(args.max_children, args.keep)
    status_by_name = verdicts()
    print(f"# mutmut run --max-children {args.max_children}: {seconds / 60:.1f} min\n")
    print(table(status_by_name))
    if args.survivors:
        print("\nnot killed:")
        for name, status in sorted(status_by_name.items()):
            if status not in KILLED:
                print(f"  {name}: {status}")
                if args.diffs:
                    diff = subprocess.run([str(MUTMUT), "show", name], cwd=ROOT, capture_output=True, text=True).stdout
                    print("\n".join("      " + line for line in diff.splitlines()[1:]))


if __name__ == "__main__":
    main()
