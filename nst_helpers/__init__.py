"""nst_helpers: the small package behind the neural style transfer notebooks.

One algorithm: optimise an image's pixels so that its VGG features match targets (feature maps for
content, Gram matrices for style). See DESIGN.md.
"""

from .errors import ImageError, LayerError, NSTError, ParameterError, ResourceError, WeightsError
from .images import load_image, save_image, to_pil
from .losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_variation
from .metrics import psnr, ssim
from .optimize import Objective, Result, check_memory, default_style_weight, initial_image, optimize_image, optimize_multiscale
from .plotting import plot_losses, show_feature_maps, show_images
from .profiles import PROFILES, Profile, default_device, get_device, profile
from .statistics import FeatureLossObjective, blend_style_targets, blended_objective, gram_loss, mean_std_loss, mmd_loss, sliced_wasserstein_loss
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG, layer_names

__all__ = [
    "CONTENT_LAYERS", "FeatureLossObjective", "ImageError", "LayerError", "NSTError", "Objective", "PROFILES",
    "ParameterError", "Profile", "ResourceError", "Result", "STYLE_LAYERS", "VGG", "WeightsError",
    "blend_style_targets", "blended_objective", "check_memory", "content_loss", "default_device",
    "default_style_weight", "get_device", "gram_loss", "gram_matrix", "initial_image", "layer_names", "load_image",
    "mean_std_loss", "mmd_loss", "optimize_image", "optimize_multiscale", "plot_losses", "profile", "psnr",
    "save_image", "show_feature_maps", "show_images", "sliced_wasserstein_loss", "ssim", "style_layer_loss",
    "style_loss", "to_pil", "total_variation",
]
__version__ = "0.1.0"
