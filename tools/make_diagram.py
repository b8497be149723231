"""Draw which VGG19 layers feed which loss (notebook 4's diagram): `python tools/make_diagram.py`.

Writes docs/layers_to_losses.png. The layer names come from the package (`layer_names`, `STYLE_LAYERS`,
`CONTENT_LAYERS`), so the diagram follows them if they change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from nst_helpers import CONTENT_LAYERS, STYLE_LAYERS  # noqa: E402
from nst_helpers.saving import write_file  # noqa: E402
from nst_helpers.vgg import layer_names  # noqa: E402

OUT = ROOT / "docs" / "layers_to_losses.png"
STYLE, CONTENT, PLAIN = "#d9822b", "#2b6cb0", "#e2e8f0"


def box(ax, x: float, y: float, text: str, color: str, width: float = 1.6, height: float = 0.5, **kw) -> None:
    ax.add_patch(plt.Rectangle((x - width / 2, y - height / 2), width, height, facecolor=color, edgecolor="#4a5568",
                               linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=kw.get("fontsize", 8), color=kw.get("textcolor", "black"))


def arrow(ax, start: tuple[float, float], end: tuple[float, float], color: str = "#4a5568") -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": color, "lw": 1.1})


def main() -> None:
    # the network as a column: the ReLU outputs of every convolution, and the pools (what the losses can tap)
    layers = [name for name in layer_names("vgg19") if not name.startswith("conv")]
    fig, ax = plt.subplots(figsize=(8.5, 7.2))
    top = len(layers) * 0.42
    ys = {name: top - i * 0.42 for i, name in enumerate(layers)}
    for name, y in ys.items():
        tapped = STYLE if name in STYLE_LAYERS else CONTENT if name in CONTENT_LAYERS else PLAIN
        box(ax, 0, y, name, tapped, height=0.34, textcolor="white" if tapped != PLAIN else "#2d3748")
    ax.text(0, top + 0.55, "VGG19 (pre-trained, frozen)", ha="center", fontsize=10, weight="bold")
    for image, y in [("output image x\n(the pixels optimised)", top + 1.5)]:
        box(ax, 0, y, image, "white", width=2.8, height=0.7, fontsize=9)
        arrow(ax, (0, y - 0.3), (0, top + 0.75))
    # style: each relu{b}_1 -> its Gram matrix -> E_l
    gram_x, loss_x = 3.4, 7.0
    for name in STYLE_LAYERS:
        y = ys[name]
        arrow(ax, (0.8, y), (gram_x - 1.15, y), STYLE)
        box(ax, gram_x, y, f"G = F Fᵀ at {name}\nvs the painting's A", "#fbe3c9", width=2.3, height=0.38, fontsize=7)
        arrow(ax, (gram_x + 1.15, y), (loss_x - 1.4, ys["relu3_1"]), STYLE)
    box(ax, loss_x, ys["relu3_1"], "style loss\nΣ wₗ Eₗ over 5 layers,\nEₗ = Σ (G − A)² / (4 Nₗ² Mₗ²)", STYLE,
        width=2.8, height=1.0, textcolor="white")
    # content: relu4_2 -> squared difference with the photo's feature maps
    for name in CONTENT_LAYERS:
        y = ys[name]
        arrow(ax, (0.8, y), (loss_x - 1.4, ys["pool5"] + 0.2), CONTENT)
    box(ax, loss_x, ys["pool5"] + 0.2, "content loss\n½ Σ (F − P)² at " + ", ".join(CONTENT_LAYERS) +
        "\nvs the photo's P", CONTENT, width=2.8, height=0.9, textcolor="white")
    total_y = (ys["relu3_1"] + ys["pool5"] + 0.2) / 2
    box(ax, loss_x + 2.9, total_y, "total\nα · content\n+ β · style", "white", width=1.5, height=0.9, fontsize=9)
    arrow(ax, (loss_x + 1.4, ys["relu3_1"]), (loss_x + 2.15, total_y + 0.2), STYLE)
    arrow(ax, (loss_x + 1.4, ys["pool5"] + 0.2), (loss_x + 2.15, total_y - 0.2), CONTENT)
    ax.annotate("gradient w.r.t. x: L-BFGS changes the pixels", xy=(1.45, top + 1.5), xytext=(loss_x + 1.0, top + 1.5),
                ha="center", va="center", fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "#718096", "lw": 1.1, "linestyle": "--"})
    arrow(ax, (loss_x + 2.9, total_y + 0.45), (loss_x + 2.9, top + 1.5), "#718096")
    ax.text(loss_x / 2, ys["pool5"] - 0.75, "the style terms see every scale (relu1_1 ... relu5_1); "
            "the content term one deep layer", ha="center", fontsize=8, color="#4a5568")
    ax.set_xlim(-1.5, loss_x + 3.8)
    ax.set_ylim(ys["pool5"] - 1.0, top + 2.0)
    ax.axis("off")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_file(OUT, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None}))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
