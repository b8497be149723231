"""The fast networks' measure: does a picture look like the painting, scored by the series' objective.

    python benchmarks/fast_measure.py [STYLE ...] [--size 256] [--published DIR] [--networks DIR ...] [--out FILE]

For each style (default: the four paintings with shipped networks) and each held-out photo, at ``--size`` px, the
fast networks' objective (`fast.fast_objective`: the paper's style term on the normalised VGG19, content at relu2_2,
alpha/beta = `fast.RATIO`) scores:

- the unchanged photo; the photo recoloured with the painting's colours (`match_color`, a flat tint); a copy of the
  painting, resized to the photo (what the content term must fail);
- each network of ``--networks`` (folders of `<style>.pt`; default the shipped ones): its one pass;
- the published network (``--published``: a folder of `<photo>_<size>__<style>.png`, made by
  benchmarks/published_network.py from the photos this script saves in outputs/fast_measure/photos/);
- L-BFGS from the paper's white noise after 25, 50, 100 and 200 steps (Johnson et al.'s comparison), cached in
  outputs/fast_measure/ so that a second call only scores.

The table is printed as Markdown, each total over that of L-BFGS after 50 steps (docs/design.md, "The fast
networks").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers import Objective, images_dir, load_image, output_dir, save_image  # noqa: E402
from nst_helpers.color import match_color  # noqa: E402
from nst_helpers.fast import (  # noqa: E402
    HELD_OUT,
    RATIO,
    load_network,
    shipped_networks,
    style_image_path,
    stylize,
    training_vgg,
)
from nst_helpers.fast.compare import STEPS, measure_cache, optimization_rows  # noqa: E402
from nst_helpers.fast.train import fast_objective  # noqa: E402

PAINTINGS = ("starry_night", "night_cafe", "wheat_field", "grande_jatte")


def lbfgs_totals(objective: Objective, cache: Path) -> dict[str, float]:
    """'L-BFGS n' -> total loss after n steps from the paper's noise, cached in ``cache`` (`optimization_rows`)."""
    rows = optimization_rows(objective, STEPS, cache)
    return {name: row["total"] for name, row in rows.items()}


def score(objective: Objective, image: torch.Tensor) -> float:
    with torch.no_grad():
        return sum(objective(image).values()).item()


def candidates(photo: torch.Tensor, style: torch.Tensor, name: str, photo_name: str, size: int,
               networks: list[Path], published: Path | None) -> dict[str, torch.Tensor]:
    """Row label -> the picture to score."""
    h, w = photo.shape[-2:]
    rows = {"photo": photo, "tint": match_color(photo, style),
            "painting": torch.nn.functional.interpolate(style, size=(h, w), mode="bilinear", antialias=True)}
    for folder in networks:
        file = folder / f"{name}.pt" if folder.is_dir() else folder
        if file.exists():
            rows[f"network ({folder.name})"] = stylize(load_network(file), photo)
    if published and (published / f"{photo_name}_{size}__{name}.png").exists():
        rows["published"] = load_image(published / f"{photo_name}_{size}__{name}.png")[..., :h, :w]
    return rows


def markdown(results: dict[str, dict[str, float]]) -> str:
    """One row per picture, one column per painting / photo: its total over that of 50 L-BFGS steps."""
    labels = list(dict.fromkeys(label for rows in results.values() for label in rows))
    lines = ["| | " + " | ".join(results) + " |", "|---" * (len(results) + 1) + "|"]
    for label in labels:
        cells = [f"{rows[label] / rows['L-BFGS 50']:.2f}" if label in rows else "" for rows in results.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("styles", nargs="*", default=list(PAINTINGS))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--published", type=Path)
    parser.add_argument("--networks", type=Path, nargs="*", default=[shipped_networks()["mosaic"].parent])
    parser.add_argument("--ratio", type=float, default=RATIO, help=f"alpha/beta (default {RATIO:g}, the networks')")
    parser.add_argument("--out", type=Path, help="also write the table's numbers here (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    vgg = training_vgg()
    results: dict = {}
    for name in args.styles:
        style = load_image(style_image_path(name), size=args.size)
        for photo_file in HELD_OUT:
            photo = load_image(images_dir() / "content" / photo_file, size=args.size)
            stem = Path(photo_file).stem
            (output_dir() / "fast_measure" / "photos").mkdir(parents=True, exist_ok=True)
            save_image(photo, output_dir() / "fast_measure" / "photos" / f"{stem}_{args.size}.png")
            objective = fast_objective(vgg, photo, style, args.ratio, precision="fp32")
            rows = {label: score(objective, image) for label, image in
                    candidates(photo, style, name, stem, args.size, args.networks, args.published).items()}
            rows.update(lbfgs_totals(objective, measure_cache(name, photo_file, args.size, args.ratio)))
            results[f"{name} / {stem}"] = rows
            base = rows["L-BFGS 50"]
            print(f"{name} / {stem}: " + ", ".join(f"{k} {v / base:.2f}" for k, v in rows.items()), flush=True)
    print(markdown(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
