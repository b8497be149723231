"""Render the paper's figures at the paper's scale into images/reference/ (nst_helpers/reference.py lists them).

    python tools/reference_figures.py [FIGURE ...] [--list] [--device cuda] [--threads 1] [--max-steps 500]

Renders every panel of the figures named (default: all, Figure 4 first) that images/reference/ does not hold yet: a
panel that exists is not rendered again. Each run is L-BFGS from the panel's start at 512 px in fp32 for 500 steps
(the authors' code's max_iter), or until the last 100 steps lowered the lowest loss by less than 1% of it. Every 25
steps the run is saved in outputs/reference_runs/, so a stopped render (Ctrl-C, a closed laptop, a session's end)
continues where it stopped (L-BFGS's memory of curvature starts afresh then, with a small first plain gradient
step, `RESUME_STEP`; the panel is the lowest-loss image of the run, and convergence counts from the last
resume; the record says at which steps). A finished panel is saved as a JPEG and recorded in
images/reference/references.json with its settings, steps, losses, seconds and machine. On one CPU core a panel
takes 27-91 minutes for a transfer (3.3-6.5 s a step; about 30 when only two renders share 2 cores), 3-30 for a
reconstruction; on a GPU, under a minute. Run it in
the background, one process per core (each takes a panel that no other is rendering; in a container `nice` may not
keep it out of the way: pause it with `kill -STOP` and `-CONT`):

    nohup nice python tools/reference_figures.py 4 --threads 1 > reference.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench import cpu_name  # noqa: E402
from nst_helpers import VGG, get_device, optimize_image, output_dir, save_image  # noqa: E402
from nst_helpers.errors import NSTError  # noqa: E402
from nst_helpers.lbfgs import FIRST_STEP, RESUME_STEP  # noqa: E402
from nst_helpers.reference import (  # noqa: E402
    CONVERGED,
    FIGURES,
    MAX_STEPS,
    ORDER,
    RECORD,
    SIZE,
    WINDOW,
    Reference,
    folder,
    record,
    references,
)
from nst_helpers.saving import write_file  # noqa: E402

CHECKPOINT_EVERY = 25


def machine(device: torch.device) -> str:
    """The GPU's name, or the CPU's and the threads torch uses."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()}, {torch.get_num_threads()} threads"


def converged(totals: list[float]) -> bool:
    """The last WINDOW steps lowered the lowest loss by less than CONVERGED of it (a step that raised the loss, as
    the first after a resume does, is not convergence)."""
    return len(totals) > WINDOW and min(totals[:-WINDOW]) - min(totals) < CONVERGED * min(totals)


def take(lock: Path) -> bool:
    """Claim a panel for this process (its pid in ``lock``), so that one process per core can render a figure's
    panels side by side; False if a process that still runs has claimed it."""
    try:
        os.kill(int(lock.read_text()), 0)  # no error: that process still runs
        return False
    except PermissionError:  # it runs, as another user
        return False
    except (FileNotFoundError, ValueError, ProcessLookupError):  # no claim, or its process has ended
        lock.write_text(str(os.getpid()))
        return True


def render(ref: Reference, vgg: VGG, out: Path, size: int = SIZE, max_steps: int = MAX_STEPS) -> dict:
    """Run ``ref`` at ``size`` px to convergence (resuming from its checkpoint), save the lowest-loss image it reached
    as a JPEG in ``out`` and return what to record."""
    runs = output_dir() / "reference_runs"
    runs.mkdir(parents=True, exist_ok=True)
    checkpoint = runs / f"{ref.key}_{size}.pt"
    state = torch.load(checkpoint, weights_only=True) if checkpoint.is_file() else {}
    objective = ref.objective(vgg, size)
    totals: list[float] = state.get("totals", [])  # totals[k]: the loss of the image after k steps
    resumed: list[int] = state.get("resumed", [])
    seconds = state.get("seconds", 0.0)
    best = {"loss": state.get("best_loss", math.inf), "image": state.get("best_image"), "step": state.get("best_step")}
    latest = [state.get("image")]  # the image after len(totals) steps, whose loss the next step reports
    start = time.perf_counter()

    def since_resume() -> list[float]:  # convergence counts from the last resume: L-BFGS starts afresh there
        return totals[resumed[-1]:] if resumed else totals

    def finished() -> bool:
        return converged(since_resume()) or len(totals) >= max_steps

    def save_checkpoint() -> None:
        keep = {"image": latest[0].cpu(), "totals": totals, "resumed": resumed, "best_image": best["image"],
                "best_loss": best["loss"], "best_step": best["step"], "seconds": seconds + time.perf_counter() - start}
        write_file(checkpoint, lambda f: torch.save(keep, f))

    def each_step(image: torch.Tensor, losses: dict[str, float]) -> bool:
        totals.append(losses["total"])
        if latest[0] is not None and totals[-1] < best["loss"]:
            best.update(loss=totals[-1], image=latest[0].cpu(), step=len(totals) - 1)
        latest[0] = image
        if len(totals) % CHECKPOINT_EVERY == 0:
            save_checkpoint()
            print(f"  step {len(totals)}: loss {totals[-1]:.4g}", flush=True)
        return finished()

    if not finished():
        if state:
            resumed.append(len(totals))
        init = latest[0].to(vgg.device) if state else ref.init
        result = optimize_image(objective, init=init, seed=ref.seed, steps=max_steps, progress=False,
                                first_step=RESUME_STEP if state else FIRST_STEP,
                                callback=lambda step, image, losses: each_step(image, losses))
        if result.stopped and not result.stopped.startswith("stopped"):
            raise NSTError(f"{ref.key}: {result.stopped}")
        save_checkpoint()
    image = best["image"] if best["image"] is not None else latest[0]  # (a checkpoint from before bests were kept)
    save_image(image, out / f"{ref.key}.jpg")
    return {**asdict(ref), "size": size, "steps": len(totals), "best_step": best["step"],
            "loss": best["loss"] if best["image"] is not None else totals[-1], "loss_every_25": totals[::25],
            "converged": converged(since_resume()), "resumed_at": resumed,
            "seconds": round(seconds + time.perf_counter() - start), "machine": machine(vgg.device),
            "precision": "fp32", "torch": torch.__version__, "date": date.today().isoformat()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", nargs="*", metavar="FIGURE",
                        help=f"figures to render (default: all): {', '.join(ORDER)}")
    parser.add_argument("--list", action="store_true", help="list every panel and whether it is rendered")
    parser.add_argument("--device", help="cpu, cuda or mps (default: the fastest here)")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's)")
    parser.add_argument("--max-steps", type=int, default=MAX_STEPS)
    parser.add_argument("--size", type=int, default=SIZE, help=argparse.SUPPRESS)  # a rehearsal's (the tests')
    parser.add_argument("--out", type=Path, default=folder(), help="where the panels go (default: images/reference)")
    args = parser.parse_args(argv)
    if set(args.figures) - set(FIGURES):
        parser.error(f"unknown figure {sorted(set(args.figures) - set(FIGURES))[0]!r}; choose from {', '.join(ORDER)}")
    figures = [f for f in ORDER if f in args.figures] or list(ORDER)
    args.out.mkdir(parents=True, exist_ok=True)
    done = record(args.out)
    if args.list:
        for figure in figures:
            for title, ref in FIGURES[figure][0].items():
                state = f"{done[ref.key]['steps']} steps" if ref.key in done else "not rendered"
                print(f"Figure {figure:9s} {title:36s} {ref.key:40s} {state}")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    wanted = {ref.key: (figure, title) for figure in figures for title, ref in FIGURES[figure][0].items()}
    todo = {key: (*wanted[key], ref) for key, ref in references().items() if key in wanted and key not in done}
    print(f"{len(todo)} panels to render at {args.size} px", flush=True)
    vgg = VGG(device=get_device(args.device))
    (output_dir() / "reference_runs").mkdir(parents=True, exist_ok=True)
    for n, (key, (figure, title, ref)) in enumerate(todo.items(), 1):
        lock = output_dir() / "reference_runs" / f"{key}_{args.size}.lock"
        if key in record(args.out) or not take(lock):
            print(f"[{n}/{len(todo)}] Figure {figure}, {title}: done or rendering in another process", flush=True)
            continue
        print(f"[{n}/{len(todo)}] Figure {figure}, {title} ({key})", flush=True)
        try:
            outcome = render(ref, vgg, args.out, args.size, args.max_steps)
        finally:
            lock.unlink(missing_ok=True)
        text = json.dumps({**record(args.out), key: outcome}, indent=1)  # re-read: another may have recorded meanwhile
        write_file(args.out / RECORD, lambda f, text=text: f.write(text.encode()))
        print(f"  done: {outcome['steps']} steps, loss {outcome['loss']:.4g}, {outcome['seconds']} s", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("NST_PRECISION", "fp32")
    try:
        main()
    except NSTError as err:
        sys.exit(f"reference_figures.py: error: {err}")
    except KeyboardInterrupt:
        sys.exit("reference_figures.py: stopped; run it again to continue where it stopped")
