"""Load, convert, resize and save images. Tensors are RGB in [0, 1], shaped (1, 3, height, width)."""

from __future__ import annotations

import io
import numbers
import os
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .profiles import free_memory, get_device
from .saving import TEMP_PREFIX, Writer, write_file

URL_TIMEOUT = 15  # seconds, for the whole download
MAX_DOWNLOAD = 100 << 20  # bytes
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
ROUNDING = 0.5 / 255  # float pixels this far outside [0, 1] are rounding, not another range
LOAD_BYTES_PER_PIXEL = 40  # peak while loading: Pillow's RGBX image and three float32 copies of it

ImageSource = str | os.PathLike | Image.Image | np.ndarray | torch.Tensor


def _download(url: str) -> bytes:
    """The bytes at ``url``, within URL_TIMEOUT seconds in all and MAX_DOWNLOAD bytes."""
    deadline = time.monotonic() + URL_TIMEOUT
    chunks, size = [], 0
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT) as response:
            while chunk := response.read1(1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise ImageError(f"{url} is larger than {MAX_DOWNLOAD >> 20} MB; download it and pass the file")
                if time.monotonic() > deadline:
                    raise TimeoutError("timed out")
    except urllib.error.HTTPError as err:
        raise ImageError(f"could not download {url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ImageError(f"could not download {url}: {reason} (offline or slow? use a local file)") from None
    return b"".join(chunks)


def _open(source: str | os.PathLike, size: int | None = None) -> Image.Image:
    """Open a path or URL as a PIL image, with one clear error for every way it can fail."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        data = _download(text)
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise ImageError(f"image file not found: {text}")
        if path.is_dir():
            raise ImageError(f"{text} is a directory, not an image file")
        if not path.is_file():  # a FIFO or a device such as /dev/zero: reading it could wait or run forever
            raise ImageError(f"{text} is not a regular file, not an image file")
        if not os.access(path, os.R_OK):
            raise ImageError(f"cannot read {text}: permission denied")
        data = path.read_bytes()  # no file handle left open (GIFs would keep theirs)
    return decode_image(data, text, size)


def decode_image(data: bytes, name: str, size: int | None = None) -> Image.Image:
    """The bytes of an image file (read, downloaded or uploaded) as a PIL image, with one clear error for every
    way Pillow can fail; ``name`` (a path, URL or file name) goes in the message. With ``size`` (the long side
    wanted) a JPEG is decoded at a reduced scale."""
    if not data:
        raise ImageError(f"{name} is an empty file")
    try:
        image = Image.open(io.BytesIO(data))
        if size is not None:
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, before anything large is allocated
        image.load()
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image file Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP ...)") from None
    except Image.DecompressionBombError as err:
        raise ImageError(f"{name} is too large to load safely ({err}); shrink it first") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{name} is damaged or truncated ({err})") from None
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode (L, LA, P, RGBA, CMYK, I;16, F ...) as 8-bit RGB; transparency goes on white."""
    image = ImageOps.exif_transpose(image)  # phone photos: show them upright
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def resize(image: Image.Image, size: int | None) -> Image.Image:
    """Resize so that the longest side is ``size`` px, keeping the aspect ratio (None: unchanged)."""
    if size is None:
        return image
    w, h = image.size
    scale = size / max(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    free = free_memory(torch.device("cpu"))
    if free is not None and new[0] * new[1] * LOAD_BYTES_PER_PIXEL > 0.8 * free:
        need = new[0] * new[1] * LOAD_BYTES_PER_PIXEL
        raise ImageError(f"an image of {new[0]}x{new[1]} px needs about {need / 2**30:.1f} GiB to load, "
                         f"but {free / 2**30:.1f} GiB is free; use a smaller size")
    return image if new == (w, h) else image.resize(new, Image.Resampling.LANCZOS)


def _pixels(array: np.ndarray, what: str, noun: str) -> np.ndarray:
    """``array``'s values as uint8: unsigned integers scaled from their dtype's range, booleans as 0 or 255, and
    floats only if finite and in [0, 1] (up to rounding). ``what`` names the source, e.g. 'the float32 array'."""
    if array.size == 0:
        raise ImageError(f"{what} of shape {array.shape} has no pixels")
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * 255
    if kind == "u":
        top = np.iinfo(array.dtype).max
        return array if top == 255 else (array / top * 255 + 0.5).astype(np.uint8)
    if kind == "i":
        raise ImageError(
            f"{what} of signed integers ({array.min()} to {array.max()}) is ambiguous as an image: "
            f"convert it to uint8 (0-255) or to floats in [0, 1]"
        )
    if kind != "f":
        raise ImageError(f"cannot make an image of {what}: give uint8 values or floats in [0, 1]")
    if not np.isfinite(array).all():
        raise ImageError(f"{what} has NaN or infinite values; an image needs finite values in [0, 1]")
    low, high = float(array.min()), float(array.max())
    if low < -ROUNDING or high > 1 + ROUNDING:
        if low >= -ROUNDING and high <= 255 + ROUNDING:
            hint = f"divide by 255, or pass a uint8 {noun}"
        elif low >= -ROUNDING and high <= 65535 + ROUNDING:
            hint = f"divide by 65535, or pass a uint16 {noun}"
        elif low >= -1 - ROUNDING and high <= 1 + ROUNDING:
            hint = "for values in [-1, 1], use (x + 1) / 2"
        else:
            hint = "rescale them to [0, 1]"
        raise ImageError(f"{what} must hold values in [0, 1], but they go from {low:.4g} to {high:.4g}: {hint}")
    return (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)


def load_image(source: ImageSource, size: int | None = None, device: str | torch.device = "cpu") -> torch.Tensor:
    """Load a path, URL, PIL image, HxWxC array or tensor as an RGB tensor (1, 3, H, W) in [0, 1].

    ``size`` is the longest side in pixels; the aspect ratio is kept. Arrays and tensors of unsigned integers are
    scaled from their dtype's range (uint8: 0-255); floats must be in [0, 1] and are refused otherwise, not clipped.
    A 2-D tensor or array is a grey image.
    """
    if size is not None and (isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1):
        raise ImageError(f"image size must be a whole number of px >= 1 (or None: as it is), got {size!r}")
    noun = "tensor" if isinstance(source, torch.Tensor) else "array"
    what = f"the {str(getattr(source, 'dtype', '')).removeprefix('torch.')} {noun}"
    if isinstance(source, torch.Tensor):
        t = source.detach().cpu()
        t = t.expand(3, -1, -1) if t.dim() == 2 else t
        t = t.unsqueeze(0) if t.dim() == 3 else t
        if t.dim() != 4 or t.shape[:2] != (1, 3):
            raise ImageError(f"a tensor image must be (H, W), (3, H, W) or (1, 3, H, W), got {tuple(source.shape)}")
        t = t.float() if t.is_floating_point() else t  # numpy has no bfloat16
        source = t[0].permute(1, 2, 0).numpy()
    if isinstance(source, np.ndarray):
        array = np.ascontiguousarray(_pixels(source, what, noun))
        try:
            source = Image.fromarray(array)
        except (TypeError, ValueError) as err:
            raise ImageError(f"cannot make an image of an array of shape {array.shape} and dtype {array.dtype}: "
                             f"{err}") from None
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, (str, os.PathLike)):
        image = _open(source, size)
    else:
        raise ImageError(f"cannot load an image from a {type(source).__name__}; give a path, URL, PIL image or array")
    if getattr(image, "n_frames", 1) > 1:
        name = source if isinstance(source, (str, os.PathLike)) else getattr(image, "filename", "") or "image"
        warnings.warn(f"{name} has {image.n_frames} frames: using the first", stacklevel=2)
        image.seek(0)
    image = resize(to_rgb(image), size)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous().to(get_device(device))


def to_pil(image: torch.Tensor) -> Image.Image:
    """An image tensor (1, 3, H, W) or (3, H, W) as a PIL image, to show: floats clamped to [0, 1], integers as
    `load_image` reads them (uint8: 0-255). Anything else, NaN too, is an `ImageError` in one line."""
    if not isinstance(image, torch.Tensor):
        raise ImageError(f"to_pil takes an image tensor, got a {type(image).__name__}; use load_image first")
    t = image.detach().cpu()
    t = t[0] if t.dim() == 4 else t
    if t.dim() != 3 or t.shape[0] != 3:
        raise ImageError(f"an image tensor must be (3, H, W) or (1, 3, H, W), got {tuple(image.shape)}")
    t = t.float().clamp(0, 1) if t.is_floating_point() else t  # NaN stays NaN, and is refused
    array = _pixels(t.permute(1, 2, 0).numpy(), f"the {str(image.dtype).removeprefix('torch.')} tensor", "tensor")
    return Image.fromarray(np.ascontiguousarray(array))


def check_save_path(path: str | os.PathLike, suffixes: tuple[str, ...] = tuple(SAVE_FORMATS)) -> Path:
    """``path`` (``~`` expanded) if `save_image` can write it, else an `ImageError` now, before any work: the suffix
    (one of ``suffixes``), the folder, and whether a file of that name can be created there (permissions, the name's
    length)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ImageError(f"cannot save an image to a {type(path).__name__}: give a file name such as 'out.png'")
    path = Path(path).expanduser()
    try:  # every step can fail with an OSError, e.g. a name too long for the file system
        if path.is_dir():
            example = path / f"out{suffixes[0]}"
            raise ImageError(f"cannot save {path}: it is a folder; give a file name such as {example}")
        if path.suffix.lower() not in suffixes:
            either = f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
            raise ImageError(f"cannot save {path}: use a {either} file name")
        if not path.parent.is_dir():
            problem = "is not a folder" if path.parent.exists() else "does not exist"
            raise ImageError(f"cannot save {path}: folder {path.parent} {problem}")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
        if not os.path.lexists(path):
            path.touch(exist_ok=False)
            path.unlink()
    except OSError as err:
        raise ImageError(f"cannot save {path}: {err.strerror or err}") from None
    return path


def image_writer(image: torch.Tensor | np.ndarray | Image.Image, suffix: str = ".png") -> Writer:
    """What writes ``image`` as a PNG or JPEG file (by ``suffix``), converted now as `load_image` converts it (uint8
    scaled from 0-255, floats in [0, 1], (H, W), (3, H, W), (1, 3, H, W) or H x W x C): anything that would be saved
    wrong (floats in 0-255, NaN, a batch) is an `ImageError` in one line, before any file is made."""
    if not isinstance(image, (torch.Tensor, np.ndarray, Image.Image)):
        raise ImageError(f"cannot save a {type(image).__name__} as an image; give a tensor, array or PIL image")
    picture = to_pil(load_image(image))
    fmt = SAVE_FORMATS[suffix.lower()]
    options = {"quality": 95} if fmt == "JPEG" else {}
    return lambda f: picture.save(f, fmt, **options)


def save_image(image: torch.Tensor | np.ndarray | Image.Image, path: str | os.PathLike) -> Path:
    """Save as PNG or JPEG (by suffix), converted as `image_writer` says, by way of `saving.write_file`: nothing is
    half-written, and the file gets the mode the umask gives."""
    path = check_save_path(path)
    return write_file(path, image_writer(image, path.suffix), error=ImageError)
