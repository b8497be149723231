"""`make variants`: the science checks under the variations of a user's machine, and how far each is from failing.

Runs the science tests and every numbered notebook (at the quick profile, as `make test`) once per variant of
tests/variants.py (threads, oneDNN off, other seeds, and bf16 where 'auto' chooses it), collects every `claim(...)`
with its value and threshold, and prints one row per claim: its worst and best value over the variants, the
threshold, and the margin (worst / threshold, or threshold / worst for an upper bound). Writes the table to
test-artifacts/variants.md. Exits 1 if any run failed. ``python tools/variants.py 06 test_science`` runs only the
targets whose names contain one of the words given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from nst_helpers.precision import resolve  # noqa: E402
from nst_helpers.saving import write_file  # noqa: E402
from tests.variants import BF16, VARIANTS  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
TARGETS = ["tests/test_science.py", *(str(p.relative_to(ROOT)) for p in NOTEBOOKS)]
STARTUP = """import os as _os, importlib.util as _util
_spec = _util.spec_from_file_location("nst_variant", {path!r})
_module = _util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.apply(_os.environ.get("NST_VARIANT", ""))
del _os, _util, _spec, _module
"""


def run(variant: str, target: str, margins: Path, ipython_dir: Path) -> bool:
    """One pytest run of ``target`` under ``variant``; its claims go to ``margins``. True if it passed."""
    env = {**os.environ, "NST_VARIANT": variant, "NST_MARGINS": str(margins), "IPYTHONDIR": str(ipython_dir),
           "NST_PROFILE": "quick", "NST_SOLUTIONS": "1", "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", target],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    status = "passed" if done.returncode == 0 else "FAILED"
    print(f"  {variant or 'default':12s} {target:45s} {status} in {time.perf_counter() - start:.0f} s", flush=True)
    if done.returncode != 0:
        print("\n".join(done.stdout.splitlines()[-25:]), flush=True)
    return done.returncode == 0


def margin(record: dict) -> float:
    """How many times over the threshold the value is (above: value / threshold; below: threshold / value)."""
    value, threshold = record["value"], record["threshold"]
    if record["kind"] == "above":
        return value / threshold if threshold > 0 else float("inf") if value > 0 else float("nan")
    return threshold / value if value > 0 else float("inf")


def table(records: dict[tuple[str, str], dict[str, dict]]) -> str:
    """Markdown: one row per (where, claim), the worst variant's value, the threshold and the margin."""
    lines = ["| where | claim | worst value (variant) | best value | threshold | margin |", "|---|---|---|---|---|---|"]
    for (where, statement), by_variant in records.items():
        variant, worst = min(by_variant.items(), key=lambda item: margin(item[1]))
        best = max(by_variant.values(), key=margin)
        bound = (">" if worst["kind"] == "above" else "<") + f" {worst['threshold']:.3g}"
        lines.append(f"| {where} | {statement} | {worst['value']:.3g} ({variant or 'default'}) | {best['value']:.3g} | "
                     f"{bound} | {margin(worst):.2f}x |")
    return "\n".join(lines)


def variants_here() -> tuple[list[str], str]:
    """The variants to run on this machine, and a line on why bf16 is among them or not. It is where 'auto' chooses
    bf16 (a CPU with AMX, say): every notebook a learner runs there runs in it. Elsewhere no notebook does, and the
    emulation is slow (40x fp32 on an AMD Zen 3)."""
    choice = resolve("auto", "cpu")
    if choice.name == "bf16":
        return [*VARIANTS, BF16], f"{BF16} included: 'auto' is {choice}"
    return list(VARIANTS), f"{BF16} left out: 'auto' is {choice}"


def main(words: list[str]) -> int:
    ok, records = True, {}
    targets = [t for t in TARGETS if not words or any(w in t for w in words)]
    variants, why = variants_here()
    print(why, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        startup = Path(tmp, "ipython", "profile_default", "startup")
        startup.mkdir(parents=True)
        (startup / "00-nst-variant.py").write_text(STARTUP.format(path=str(ROOT / "tests" / "variants.py")))
        for variant in variants:
            print(f"variant {variant or 'default'}:", flush=True)
            for target in targets:
                margins = Path(tmp, "margins.jsonl")
                margins.unlink(missing_ok=True)
                ok &= run(variant, target, margins, startup.parents[1])
                for line in margins.read_text().splitlines() if margins.exists() else []:
                    record = json.loads(line)
                    slot = records.setdefault((Path(target).stem, record["statement"]), {})
                    # a claim made several times in one run (e.g. per layer): keep its worst instance
                    if variant not in slot or margin(record) < margin(slot[variant]):
                        slot[variant] = record
    text = table(records)
    print(text)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    write_file(out / "variants.md", lambda f: f.write(f"{text}\n".encode()))
    print("all variants passed" if ok else "some variants FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
