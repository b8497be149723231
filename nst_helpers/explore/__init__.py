"""Explorers: sliders and buttons on the same functions the notebooks call.

In a notebook cell::

    from nst_helpers.explore import transfer_explorer
    transfer_explorer()

One explorer per notebook: `feature_explorer` (1: activation maps and maximising images),
`content_explorer` (2: reconstruction from one layer), `style_explorer` (3: texture from Gram matrices)
and `transfer_explorer` (4: the whole transfer); `fast_explorer` (6) is the fast mode, a shipped style
network painting a photo in one pass, the preview following every control. The other four each run their
optimisation in a background thread, so the kernel stays responsive: the preview and the loss curve update
on step 1 and then every second or so, Stop ends the run within one step, a second Run while one is going is
refused with a message, and a problem (a bad URL, a file that is not an image) shows as one line in the
explorer, not a traceback.

Every explorer has ``.widget`` (what the notebook displays; the explorer displays itself too), its
controls as attributes, ``run()``, ``stop()``, ``wait()``, ``save()``, the ``preview`` and ``loss_plot``
images (PNG bytes), the ``message`` line and the last few ``runs``: tests drive them without a browser. The
content, style and transfer explorers take a ``precision`` for their objectives (default: `$NST_PRECISION`, else
'auto'; see precision.py).

Read in this order: controls.py (the image picker and the other controls), base.py (the thread, Run / Stop /
Save, the preview), explorers.py (the four explorers), fast.py (the fast mode).
"""

from ..vgg import VGG
from .base import Explorer, Run, network
from .explorers import ContentExplorer, FeatureExplorer, StyleExplorer, TransferExplorer
from .fast import FastExplorer

__all__ = [
    "ContentExplorer", "Explorer", "FastExplorer", "FeatureExplorer", "Run", "StyleExplorer", "TransferExplorer",
    "content_explorer", "fast_explorer", "feature_explorer", "network", "style_explorer", "transfer_explorer",
]


def feature_explorer(vgg: VGG | None = None) -> FeatureExplorer:
    """Notebook 1: an image, a layer and a channel; its activation map and its maximising image."""
    return FeatureExplorer(vgg)


def content_explorer(vgg: VGG | None = None, precision: str | None = None) -> ContentExplorer:
    """Notebook 2: the content layer and the steps; watch the reconstruction form."""
    return ContentExplorer(vgg, precision)


def style_explorer(vgg: VGG | None = None, precision: str | None = None) -> StyleExplorer:
    """Notebook 3: tick style layers; watch the texture form."""
    return StyleExplorer(vgg, precision)


def transfer_explorer(vgg: VGG | None = None, precision: str | None = None) -> TransferExplorer:
    """Notebook 4 and explorer.ipynb: the whole style transfer, every setting a control."""
    return TransferExplorer(vgg, precision)


def fast_explorer() -> FastExplorer:
    """Notebook 6 and explorer.ipynb: a shipped style network; the preview follows the photo, network and size."""
    return FastExplorer()
