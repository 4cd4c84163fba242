"""Compare a benchmark between a base revision and the working tree, in one run.

The machines are shared and noisy, so figures from another day mean little: this runs
the same benchmark script against both trees, alternating (base, head, base, head, …),
and prints each measurement's best value on either side with their ratio (≥ 1 means the
working tree is at least as fast; rates compare head/base, times base/head).

    .venv/bin/python benchmarks/compare.py --base 7308804 --rounds 2 -- \\
        throughput.py --runs 3000 --no-celery

The base revision is checked out with ``git worktree`` into a temporary folder and
imported through ``PYTHONPATH`` (the benchmark's worker processes inherit it), with its
own copy of the benchmark script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HIGHER_IS_BETTER = ("runs/s", "/s")


def _run(tree: Path, script: str, args: list[str], out: Path) -> list[dict[str, Any]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(tree / "src"), str(tree / "benchmarks"), env.get("PYTHONPATH")])
    )
    cmd = [sys.executable, str(tree / "benchmarks" / script), *args, "--json", str(out)]
    print(f"$ {' '.join(cmd)}  (tree {tree})", flush=True)
    subprocess.run(cmd, cwd=tree, env=env, check=False)
    if not out.exists():
        return []
    rows: list[dict[str, Any]] = json.loads(out.read_text())["rows"]
    return rows


def _better(unit: str) -> int:
    return 1 if unit.endswith(HIGHER_IS_BETTER) else -1


def main() -> int:
    """Run the comparison and print the table; 1 if a ratio is under ``--min-ratio``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side")
    parser.add_argument("--min-ratio", type=float, default=0.95)
    parser.add_argument("script", help="benchmark script in benchmarks/, e.g. throughput.py")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments (after --)")
    ns = parser.parse_args()
    args = [a for a in ns.args if a != "--"]
    with tempfile.TemporaryDirectory(prefix="switchyard-compare-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), ns.base], cwd=REPO, check=True
        )
        try:
            best: dict[tuple[str, str], dict[str, Any]] = {}
            for round_ in range(ns.rounds):
                for side, tree in (("base", base), ("head", REPO)):
                    out = Path(tmp) / f"{side}-{round_}.json"
                    for row in _run(tree, ns.script, args, out):
                        if row.get("value") is None:
                            continue
                        key = (row["group"], row["measurement"])
                        entry = best.setdefault(key, {"unit": row["unit"]})
                        sign = _better(row["unit"])
                        old = entry.get(side)
                        if old is None or sign * row["value"] > sign * old:
                            entry[side] = row["value"]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO)
    print(f"\nbest of {ns.rounds} rounds each; base = {ns.base}, head = working tree\n")
    print("| group | measurement | base | head | unit | ratio |")
    print("|---|---|---:|---:|---|---:|")
    worst = float("inf")
    for (group, measurement), entry in best.items():
        if "base" not in entry or "head" not in entry:
            continue
        b, h, unit = entry["base"], entry["head"], entry["unit"]
        ratio = (h / b if _better(unit) > 0 else b / h) if b and h else float("nan")
        worst = min(worst, ratio)
        print(f"| {group} | {measurement} | {b:,.2f} | {h:,.2f} | {unit} | {ratio:.2f} |")
    return 0 if worst >= ns.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
