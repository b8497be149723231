"""Reference figures: the paper's figures at the paper's scale, beside the learner's run.

A learner's run is 64-224 px and 40-200 steps; the paper's figures are 512 px, optimised for 500 L-BFGS
evaluations in the authors' own code (leongatys/PytorchNeuralStyleTransfer), where the picture has stopped changing.
`FIGURES` lists every panel of the paper's Figures 1, 3, 4, 5, 6 and 7 (CVPR 2016's numbering) as a
`Reference`: the series' images, the paper's settings (its network, the normalised VGG19; its start, white noise;
its weights, `Objective`'s defaults) and the one setting the figure varies. tools/reference_figures.py renders them
at `SIZE` px on any machine, resumably, into images/reference/ (each panel a JPEG, their settings and outcomes in
`RECORD`); `show_reference` draws a figure from there.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ParameterError
from .folders import images_dir
from .objective import PAPER_RATIO, Objective
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG

SIZE = 512  # the paper's images: 512 px on the long side
MAX_STEPS = 500  # L-BFGS evaluations at most: the authors' code's (max_iter = 500 at 512 px)
WINDOW, CONVERGED = 100, 0.01  # converged: the last WINDOW steps lowered the lowest loss by less than 1% of it
FOLDER = "reference"  # in images/
RECORD = "references.json"  # in that folder: key -> the panel's settings and its run's outcome


@dataclass(frozen=True)
class Reference:
    """One panel: ``content`` and ``style`` images (paths in images/, or None for a reconstruction), the layers, the
    ratio alpha/beta, the start ('noise', 'content' or 'style') and its seed. Panels of several figures that share
    their settings share one run (`key`)."""

    content: str | None
    style: str | None
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    style_layers: tuple[str, ...] = STYLE_LAYERS
    ratio: float = PAPER_RATIO
    init: str = "noise"
    seed: int = 0

    @property
    def key(self) -> str:
        """The run's file name: the images' names and a hash of every setting."""
        settings = json.dumps(asdict(self), sort_keys=True)
        names = [Path(p).stem for p in (self.content, self.style) if p]
        return "_".join([*names, hashlib.sha1(settings.encode()).hexdigest()[:8]])

    def objective(self, vgg: VGG, size: int = SIZE, precision: str = "fp32") -> Objective:
        """The panel's objective at ``size`` px (long side), on ``vgg`` (the paper's: `VGG()`)."""
        from .images import load_image

        load = (lambda p: load_image(images_dir() / p, size=size).to(vgg.device)) if size else None
        return Objective(vgg, load(self.content) if self.content else None, load(self.style) if self.style else None,
                         content_layers=self.content_layers, style_layers=self.style_layers,
                         style_weight=1 / self.ratio, precision=precision)


PHOTO, PAINTING = "content/chenonceau.jpg", "style/starry_night.jpg"  # notebook 4's experiments
RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)  # Figure 4's columns
BASE = Reference(PHOTO, PAINTING)  # Figure 3's first panel, Figure 4's corner, Figure 5's relu4_2, Figure 6's seed 0


def _conv(layer: str) -> str:
    return "conv" + layer[4:]  # the paper's name of a rectified layer: relu4_2 -> conv4_2


# figure -> (panel title -> Reference), in the order panels are drawn, and the figure's columns
FIGURES: dict[str, tuple[dict[str, Reference], int]] = {
    "1-content": ({_conv(f"relu{k}_2"): Reference("content/chelsea.png", None, content_layers=(f"relu{k}_2",))
                   for k in range(1, 6)}, 3),  # the paper's row of 5, in rows of 3: panels large enough to see
    "1-style": ({" + ".join(map(_conv, STYLE_LAYERS[:k])) if k < 3 else f"conv1_1 ... {_conv(STYLE_LAYERS[k - 1])}":
                 Reference(None, PAINTING, style_layers=STYLE_LAYERS[:k]) for k in range(1, 6)}, 3),
    "3": ({title: Reference(PHOTO, style) for title, style in
           (("The Starry Night", PAINTING), ("Whalers", "style/whalers.jpg"),
            ("Study for La Grande Jatte", "style/grande_jatte.jpg"), ("Mäda Primavesi", "style/mada_primavesi.jpg"))},
          2),
    "4": ({f"up to {_conv(STYLE_LAYERS[k - 1])}, α/β = {ratio:.0e}": Reference(PHOTO, PAINTING,
           style_layers=STYLE_LAYERS[:k], ratio=ratio) for k in range(1, 6) for ratio in RATIOS}, len(RATIOS)),
    "5": ({f"content at {_conv(layer)}": Reference(PHOTO, PAINTING, content_layers=(layer,))
           for layer in ("relu2_2", "relu4_2")}, 2),
    "6": ({"from the photo": Reference(PHOTO, PAINTING, init="content"),
           "from the painting": Reference(PHOTO, PAINTING, init="style")}
          | {f"from noise, seed {seed}": Reference(PHOTO, PAINTING, seed=seed) for seed in range(4)}, 3),
    "7": ({"a photo at night onto a photo by day": Reference(PHOTO, "train/gatewayofIndia.jpg")}, 1),
}
# The order tools/reference_figures.py renders in: Figure 4 (the one a laptop cannot show), then the others.
ORDER = ("4", "3", "5", "6", "1-content", "1-style", "7")


def references() -> dict[str, Reference]:
    """Every distinct run, key -> Reference, in rendering order (`BASE`, shared by four figures, first)."""
    return {BASE.key: BASE} | {ref.key: ref for figure in ORDER for ref in FIGURES[figure][0].values()}


def folder() -> Path:
    """images/reference/, where the rendered panels are."""
    return images_dir() / FOLDER


def record(where: Path | None = None) -> dict[str, dict]:
    """key -> what tools/reference_figures.py recorded of each run in ``where`` (default `folder`): its settings,
    steps, losses, seconds, machine."""
    path = (where or folder()) / RECORD
    return json.loads(path.read_text()) if path.is_file() else {}


def check_figure(figure: str) -> None:
    if figure not in FIGURES:
        raise ParameterError(f"unknown figure {figure!r}; choose from {', '.join(FIGURES)}")


def show_reference(figure: str, size: float | None = None):
    """Draw the paper's ``figure`` ('1-content', '1-style', '3', '4', '5', '6', '7') from images/reference/: each panel
    as rendered at the paper's scale, titled, with its steps, ``size`` inches wide (default: a row about 10 inches
    wide, 4.5 at most a panel); a panel not rendered yet is an empty frame that says how to render it. In a notebook
    it is shown as a JPEG (`show_as_jpeg`). Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    from .images import load_image
    from .plotting import show_as_jpeg

    check_figure(figure)
    panels, ncols = FIGURES[figure]
    done = record()
    nrows = math.ceil(len(panels) / ncols)
    size = size or min(4.5, 10 / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 0.85 * nrows), squeeze=False,
                             layout="constrained")
    steps = []
    for ax, (title, ref) in zip(axes.flat, panels.items()):
        ax.set_xticks([])
        ax.set_yticks([])
        if ref.key in done and (folder() / f"{ref.key}.jpg").is_file():
            ax.imshow(load_image(folder() / f"{ref.key}.jpg")[0].permute(1, 2, 0).numpy())
            steps.append(done[ref.key]["steps"])
            ax.set_title(title, fontsize=9)
        else:
            ax.set_title(title, fontsize=9)
            ax.text(0.5, 0.5, f"not rendered yet:\npython tools/\nreference_figures.py {figure}", ha="center",
                    va="center", fontsize=8, transform=ax.transAxes)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    span = f"{min(steps)}-{max(steps)}" if steps and min(steps) != max(steps) else str(steps[0]) if steps else "-"
    start = "the paper's start" if {ref.init for ref in panels.values()} == {"noise"} else "the start each panel names"
    fig.suptitle(f"the paper's scale: {SIZE} px, L-BFGS from {start}, {span} steps; {len(steps)} of "
                 f"{len(panels)} panels rendered", fontsize=10)
    return show_as_jpeg(fig)


__all__ = ["FIGURES", "Reference", "SIZE", "check_figure", "folder", "record", "references", "show_reference"]
