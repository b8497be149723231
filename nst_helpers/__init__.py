"""nst_helpers: the small package behind the neural style transfer notebooks.

One algorithm: optimise an image's pixels so that its VGG features match targets (feature maps for
content, Gram matrices for style). Here are the names most notebooks use; the rest is imported from its
module: ``checks``, ``color``, ``featviz``, ``metrics``, ``style_statistics``, ``explore``. Where each part
lives: docs/design.md.

Each name is imported from its module when first used (PEP 562), so that `nst` loads torch only inside its
handling of Ctrl-C, and matplotlib only where a command draws.
"""

import importlib

from .errors import ImageError, LayerError, NSTError, ParameterError, ResourceError, WeightsError

_PUBLIC = {  # module -> the names it gives the package
    "backbone": ["Backbone"],
    "folders": ["images_dir", "output_dir"],
    "images": ["load_image", "save_image", "to_pil"],
    "lbfgs": ["LBFGS"],
    "losses": ["content_loss", "gram_matrix", "style_layer_loss", "style_loss", "total_variation"],
    "metrics": ["psnr", "ssim"],
    "objective": ["Objective", "check_memory", "default_style_weight", "style_weight_for_ratio"],
    "optimize": ["Result", "initial_image", "optimize_image", "optimize_multiscale", "summary"],
    "plotting": ["plot_losses", "show_as_jpeg", "show_images"],
    "profiles": ["PROFILES", "Profile", "default_device", "get_device", "profile"],
    "reference": ["show_reference"],
    "vgg": ["CONTENT_LAYERS", "STYLE_LAYERS", "VGG", "layer_names"],
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


__all__ = [
    "LBFGS", "Backbone", "CONTENT_LAYERS", "ImageError", "LayerError", "NSTError", "Objective", "PROFILES",
    "ParameterError", "Profile", "ResourceError", "Result", "STYLE_LAYERS", "VGG", "WeightsError", "check_memory",
    "content_loss", "default_device", "default_style_weight", "get_device", "gram_matrix", "images_dir",
    "initial_image", "layer_names", "load_image", "optimize_image", "optimize_multiscale", "output_dir", "plot_losses",
    "profile", "psnr", "save_image", "show_as_jpeg", "show_images", "show_reference", "ssim", "style_layer_loss",
    "style_loss", "style_weight_for_ratio", "summary", "to_pil", "total_variation",
]
__version__ = "0.1.0"
