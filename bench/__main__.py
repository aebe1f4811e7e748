"""Run every benchmark under ``bench/``, print a table, write ``bench/results/latest.json``.

A module joins by defining ``BENCHMARKS: list[Benchmark]``; modules starting with ``_`` are
helpers. ``python -m bench planning`` runs only the modules named.
"""

import importlib
import json
import os
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench._harness import Benchmark, Result, measure

RESULTS = Path(__file__).parent / "results" / "latest.json"


def discover(only: list[str]) -> list[tuple[str, Benchmark]]:
    """Every module's benchmarks, in module-name order."""
    found = []
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if module.name.startswith("_") or (only and module.name not in only):
            continue
        loaded = importlib.import_module(f"bench.{module.name}")
        found += [(module.name, bench) for bench in getattr(loaded, "BENCHMARKS", [])]
    return found


def _row(module: str, result: Result) -> str:
    verdict = {None: "", True: "ok", False: "MISSED"}[result.within_target]
    budget = f"{result.target_seconds:.3f}" if result.target_seconds is not None else "-"
    return (
        f"{module:<10} {result.name:<32} {result.best:>8.3f} {result.median:>8.3f} "
        f"{result.worst:>8.3f} {budget:>8} {verdict}"
    )


def main(argv: list[str]) -> int:
    """Run, print, record; exit 1 when a benchmark's median is over its budget."""
    benchmarks = discover(argv)
    print(
        f"{'module':<10} {'benchmark':<32} {'best s':>8} {'median':>8} {'worst':>8} {'budget':>8}"
    )
    results = []
    for module, benchmark in benchmarks:
        result = measure(benchmark)
        print(_row(module, result), flush=True)
        for target in result.targets:
            print(f"{'':<10}   {target.describe()}", flush=True)
        results.append(
            {
                "module": module,
                **vars(result),
                "targets": [{**vars(t), "met": t.met} for t in result.targets],
                "within_target": result.within_target,
            }
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "system": platform.platform(),
    }
    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "results": results,
    }
    RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")
    return 1 if any(r["within_target"] is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
