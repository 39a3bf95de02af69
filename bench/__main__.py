"""`python -m bench`: run every benchmark and print each figure beside its same-run baseline.

These machines are shared and noisy: compare the ratios within one run, not absolute seconds
across runs.
"""

from __future__ import annotations

import importlib
import platform
import sys
import time

MODULES = [
    "bench.bench_scoring",
    "bench.bench_stats",
    "bench.bench_reports",
    "bench.bench_dashboard",
    "bench.bench_quality",
    "bench.bench_exports",
]


def main() -> int:
    print(f"# Evaluator benchmarks · Python {platform.python_version()} · {platform.machine()}")
    for name in MODULES:
        module = importlib.import_module(name)
        print(f"\n## {name.removeprefix('bench.')}")
        started = time.perf_counter()
        for label, figure in module.run():
            print(f"  {label:<58} {figure}")
        print(f"  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
