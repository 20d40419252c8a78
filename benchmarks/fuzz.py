"""The long property-test run (``make fuzz``): pytest under the ``fuzz`` profile, result in ``benchmarks/FUZZ.md``.

Runs the property tests (``tests/test_properties.py``) and the hostile-input
generators (``tests/test_hostile*.py``) with ``HYPOTHESIS_PROFILE=fuzz`` in batches
(default 20 batches; per batch 500 examples per property test and 25 per hostile
test, which runs a whole build or command per example; batch *i* with hypothesis
seed *i*), captures hypothesis's statistics and rewrites a small table after each
batch (examples run, passing/failing/invalid, time, outcome): an interrupted run
still records what it did.

    python -m benchmarks.fuzz [--examples N] [--hostile-examples H] [--batches B] [--parallel P]
                              [--out benchmarks/FUZZ.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_statistics(text: str) -> list[dict]:
    """Per test and phase: passing, failing, invalid counts and the phase's seconds."""
    out = []
    test = None
    phase = None
    for line in text.splitlines():
        m = re.match(r"^(tests/\S+::\S+):$", line.strip())
        if m:
            test = m.group(1)
            continue
        m = re.match(r"^- during (\w+) phase \(([\d.]+) seconds\)", line.strip())
        if m and test:
            phase = {"test": test, "phase": m.group(1), "seconds": float(m.group(2))}
            out.append(phase)
            continue
        m = re.match(r"^- (\d+) passing, (\d+) failing, and (\d+) invalid", line.strip())
        if m and phase is not None:
            phase.update(passing=int(m.group(1)), failing=int(m.group(2)), invalid=int(m.group(3)))
            continue
        m = re.match(r"^- Typical runtimes: (.*)$", line.strip())
        if m and phase is not None:
            phase["runtimes"] = m.group(1)
            continue
        m = re.match(r"^- Stopped because (.*)$", line.strip())
        if m and test:
            out.append({"test": test, "phase": "stop", "reason": m.group(1)})
    return out


#: The test files of each kind: property tests (cheap examples) and hostile-input generators (a build each).
PROPERTY_FILES = ("tests/test_properties.py",)


def hostile_files() -> list[str]:
    """``tests/test_hostile*.py``, sorted."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_hostile*.py"))


def run_batch(examples: int, seed: int, k: str | None, hostile_examples: int = 25) -> tuple[int, str, float]:
    """One batch: the property tests with ``examples`` examples each, the hostile tests with ``hostile_examples``."""
    started = time.perf_counter()
    code, log = 0, ""
    for files, n in ((PROPERTY_FILES, examples), (hostile_files(), hostile_examples)):
        if not files or n <= 0:
            continue
        env = dict(os.environ, HYPOTHESIS_PROFILE="fuzz", BOUNDARIES_EXAMPLES=str(n))
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files,
               "--hypothesis-show-statistics", f"--hypothesis-seed={seed}"] + (["-k", k] if k else [])
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        # pytest's 5 (nothing collected, e.g. a -k matching no test of this kind) is not a failure
        code = max(code, 0 if proc.returncode == 5 else proc.returncode)
        log += proc.stdout + proc.stderr
    return code, log, time.perf_counter() - started


def write_table(path: str, batches: list[dict], examples: int, n_batches: int, started_at: datetime,
                parallel: int = 1, hostile_examples: int = 25) -> None:
    import hypothesis

    totals: dict = {}
    for b in batches:
        for s in b["stats"]:
            if s["phase"] == "stop":
                continue
            key = (s["test"].split("::")[-1], s["phase"])
            t = totals.setdefault(key, {"passing": 0, "failing": 0, "invalid": 0, "seconds": 0.0, "runtimes": ""})
            for f in ("passing", "failing", "invalid"):
                t[f] += s.get(f, 0)
            t["seconds"] += s["seconds"]
            t["runtimes"] = s.get("runtimes", t["runtimes"])
    failed = [b for b in batches if b["code"] != 0]
    seconds = sum(b["seconds"] for b in batches)
    lines = [
        "# Property-test fuzzing (`make fuzz`)",
        "",
        f"Started {started_at:%Y-%m-%d %H:%M} UTC on a {os.cpu_count()}-core machine shared with other work, "
        f"Python {platform.python_version()}, hypothesis {hypothesis.__version__}; profile `fuzz` "
        f"(`tests/test_properties.py`, `tests/test_hostile*.py`), {len(batches)} of {n_batches} batches of "
        f"{examples:,} examples per property test and {hostile_examples:,} per hostile-input test, batch *i* run "
        "with `--hypothesis-seed=i` (reproducible).",
        "",
        f"Outcome: **{'all passed' if not failed else f'{len(failed)} batch(es) FAILED'}** after "
        f"{seconds / 60:.1f} min of batches, {(datetime.now(timezone.utc) - started_at).total_seconds() / 60:.1f} "
        f"min wall ({parallel} batch(es) at once).",
        "",
        "| test | phase | passing | failing | invalid | seconds | typical runtimes (last batch) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for (name, phase), t in totals.items():
        lines.append(f"| `{name}` | {phase} | {t['passing']:,} | {t['failing']:,} | {t['invalid']:,} | "
                     f"{t['seconds']:.0f} | {t['runtimes']} |")
    lines += ["", "| batch (seed) | exit | minutes | pytest |", "|---:|---:|---:|---|"]
    for b in batches:
        lines.append(f"| {b['seed']} | {b['code']} | {b['seconds'] / 60:.1f} | {b['summary']} |")
    for b in failed:
        failing = [line for line in b["log"].splitlines()
                   if "Falsifying" in line or "Error" in line or "reproduce_failure" in line][:20]
        lines += ["", f"Batch {b['seed']} failures (first lines):", "", "```", *failing, "```"]
    lines += ["", "Invalid examples are those the strategy rejected (`assume`), not failures. Passing counts "
              "are test cases run; a property test that fails also shrinks (more cases).", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=500, help="examples per property test per batch")
    ap.add_argument("--hostile-examples", type=int, default=25,
                    help="examples per hostile-input test per batch (each runs a build; default 25)")
    ap.add_argument("--batches", type=int, default=20, help="batches (default 20: 10,000 examples)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "FUZZ.md"))
    ap.add_argument("--parallel", type=int, default=1, metavar="P",
                    help="batches run at once, each in its own process (default 1)")
    ap.add_argument("-k", default=None, help="pytest -k expression (default: every property test)")
    args = ap.parse_args(argv)

    started_at = datetime.now(timezone.utc)
    batches = []

    def one(seed: int) -> dict:
        code, log, seconds = run_batch(args.examples, seed, args.k, args.hostile_examples)
        summary = [line.strip() for line in log.splitlines() if re.search(r"\d+ (passed|failed)", line)]
        return {"seed": seed, "code": code, "log": log, "seconds": seconds,
                "stats": parse_statistics(log), "summary": "; ".join(summary) if summary else "no summary"}

    # batches are independent pytest processes (seed i each): run --parallel of them at once
    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        for batch in pool.map(one, range(args.batches)):  # in seed order
            batches.append(batch)
            write_table(args.out, batches, args.examples, args.batches, started_at, args.parallel,
                        args.hostile_examples)  # after each
            print(f"batch {batch['seed']}: exit {batch['code']} in {batch['seconds'] / 60:.1f} min — "
                  f"{batch['summary']}", flush=True)
            if batch["code"] != 0:
                sys.stdout.write(batch["log"])
    print(f"wrote {args.out}")
    return max(b["code"] for b in batches)


if __name__ == "__main__":
    sys.exit(main())
