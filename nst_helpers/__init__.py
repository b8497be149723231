"""nst_helpers: the small package behind the neural style transfer notebooks.

One algorithm: optimise an image's pixels so that its VGG features match targets (feature maps for
content, Gram matrices for style). Here are the names most notebooks use; the rest is imported from its
module: ``checks``, ``color``, ``featviz``, ``metrics``, ``style_statistics``, ``explore``. Where each part
lives: docs/design.md.
"""

from .backbone import Backbone
from .errors import ImageError, LayerError, NSTError, ParameterError, ResourceError, WeightsError
from .folders import images_dir, output_dir
from .images import load_image, save_image, to_pil
from .lbfgs import LBFGS
from .losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_variation
from .metrics import psnr, ssim
from .objective import Objective, check_memory, default_style_weight, style_weight_for_ratio
from .optimize import Result, initial_image, optimize_image, optimize_multiscale, summary
from .plotting import plot_losses, show_images
from .profiles import PROFILES, Profile, default_device, get_device, profile
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG, layer_names

__all__ = [
    "LBFGS", "Backbone", "CONTENT_LAYERS", "ImageError", "LayerError", "NSTError", "Objective", "PROFILES",
    "ParameterError", "Profile", "ResourceError", "Result", "STYLE_LAYERS", "VGG", "WeightsError", "check_memory",
    "content_loss", "default_device", "default_style_weight", "get_device", "gram_matrix", "images_dir",
    "initial_image", "layer_names", "load_image", "optimize_image", "optimize_multiscale", "output_dir", "plot_losses",
    "profile", "psnr", "save_image", "show_images", "ssim", "style_layer_loss", "style_loss", "style_weight_for_ratio",
    "summary", "to_pil", "total_variation",
]
__version__ = "0.1.0"
