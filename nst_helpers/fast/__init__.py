"""Fast style transfer (notebook 6): a network trained once with the losses of notebooks 2-4, then one pass a photo.

Read network.py (the `TransformNet`, saving and loading it, the shipped networks), then train.py (the photos, the
crops, the per-profile `TRAINING` settings and the training loop `train`); compare.py measures a network against the
optimisation; preview.py is the notebook's live preview.
"""

from .compare import against_optimization, comparison_table
from .network import (
    TransformNet,
    load_network,
    network_path,
    parameter_count,
    save_network,
    shipped_networks,
    stylize,
)
from .preview import LivePreview
from .train import (
    CONTENT_LAYERS,
    HELD_OUT,
    NORMALIZATION,
    RATIO,
    TRAINING,
    Crops,
    Training,
    TrainingSettings,
    fast_objective,
    per_image,
    style_image_path,
    train,
    training_photos,
    training_vgg,
)

__all__ = [
    "CONTENT_LAYERS", "Crops", "HELD_OUT", "LivePreview", "NORMALIZATION", "RATIO", "TRAINING", "Training",
    "TrainingSettings", "TransformNet",
    "against_optimization", "comparison_table", "fast_objective", "load_network", "network_path", "parameter_count",
    "per_image", "save_network", "shipped_networks", "style_image_path", "stylize", "train", "training_photos",
    "training_vgg",
]
