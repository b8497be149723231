"""Loading images from every kind of source and Pillow mode, resizing, errors, and saving.

Every image file is generated here, in tmp_path: nothing binary ships with the tests.
"""

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_helpers import ImageError, NSTError, load_image, save_image, to_pil
from nst_helpers import images as images_module
from nst_helpers.images import check_save_path

from .conftest import guard_against_hanging

RED, BLUE = (255, 0, 0), (0, 0, 255)


def rgb(values):
    """A (1, 3, 1, 1) tensor for an 8-bit RGB colour."""
    return torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1) / 255


def assert_colour(tensor, values, atol=1e-6):
    """Every pixel of ``tensor`` has the 8-bit RGB colour ``values``."""
    torch.testing.assert_close(tensor, rgb(values).expand_as(tensor), rtol=0, atol=atol)


# --- sources ------------------------------------------------------------------------------------


def test_load_png_from_path(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (20, 10), (200, 30, 60)).save(path)
    for source in (path, str(path)):
        t = load_image(source)
        assert t.shape == (1, 3, 10, 20)
        assert t.dtype == torch.float32
        assert_colour(t, (200, 30, 60))


def test_load_keeps_pixel_layout(tmp_path):
    # left half red, right half blue: channel 0 is R, width is the last axis
    image = Image.new("RGB", (4, 2), RED)
    image.paste(BLUE, (2, 0, 4, 2))
    t = load_image(image)
    assert_colour(t[..., :2], RED)
    assert_colour(t[..., 2:], BLUE)


def test_load_from_pil_image():
    t = load_image(Image.new("RGB", (5, 7), (0, 128, 255)))
    assert t.shape == (1, 3, 7, 5)
    assert_colour(t, (0, 128, 255))


def test_load_from_uint8_array():
    array = np.zeros((6, 4, 3), dtype=np.uint8)
    array[..., 1] = 51  # 0.2
    t = load_image(array)
    assert t.shape == (1, 3, 6, 4)
    assert_colour(t, (0, 51, 0))


def test_load_from_float_array_clips_only_rounding_errors():
    array = np.full((3, 5, 3), 0.5, dtype=np.float32)
    array[0, 0] = (-0.001, 1.001, 0.0)
    t = load_image(array)
    assert t.shape == (1, 3, 3, 5)
    assert t[0, :, 1, 1].tolist() == pytest.approx([128 / 255] * 3)  # 0.5 -> 128 (rounded)
    assert t[0, :, 0, 0].tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    "low,high,hint",
    [(0, 255, "divide by 255, or pass a uint8"), (0, 65535, "divide by 65535"), (-1, 1, "(x + 1) / 2"), (-2.1, 2.6, "rescale")],
)
@pytest.mark.parametrize("kind", ["array", "tensor"])
def test_float_values_outside_the_unit_range_are_refused_not_clipped(low, high, hint, kind):
    array = np.linspace(low, high, 4 * 4 * 3, dtype=np.float32).reshape(4, 4, 3)
    source = array if kind == "array" else torch.from_numpy(array).permute(2, 0, 1)
    with pytest.raises(ImageError, match=f"float32 {kind} must hold values in \\[0, 1\\]") as info:
        load_image(source)
    assert hint in str(info.value)
    assert f"to {high:.4g}" in str(info.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("kind", ["array", "tensor"])
def test_nan_or_infinite_pixels_are_refused(bad, kind):
    array = np.full((4, 4, 3), 0.5)
    array[1, 2, 0] = bad
    source = array if kind == "array" else torch.from_numpy(array).permute(2, 0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy cast warning either: one clear error
        with pytest.raises(ImageError, match="NaN or infinite"):
            load_image(source)


def test_uint8_tensor_is_scaled_from_0_255():
    # what torchvision.io.read_image returns: (3, H, W) uint8
    t = load_image(torch.tensor([200, 30, 60], dtype=torch.uint8).view(3, 1, 1).expand(3, 2, 4))
    assert t.dtype == torch.float32 and t.shape == (1, 3, 2, 4)
    assert_colour(t, (200, 30, 60))


def test_uint16_array_is_scaled_from_its_range():
    t = load_image(np.full((2, 3, 3), 65535 // 5, dtype=np.uint16))
    assert_colour(t, (51, 51, 51))


def test_boolean_array_is_black_and_white():
    array = np.zeros((2, 2), dtype=bool)
    array[0] = True
    t = load_image(array)
    assert_colour(t[..., :1, :], (255, 255, 255))
    assert_colour(t[..., 1:, :], (0, 0, 0))


@pytest.mark.parametrize("source", [torch.full((3, 2, 2), 128), np.full((2, 2, 3), 128, dtype=np.int32)])
def test_signed_integers_are_ambiguous_and_refused(source):
    with pytest.raises(ImageError, match="signed integers .*128 to 128.* uint8"):
        load_image(source)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_any_float_tensor_loads_as_float32(dtype):
    t = load_image(torch.full((3, 2, 2), 0.2, dtype=dtype))
    assert t.dtype == torch.float32
    assert_colour(t, (51, 51, 51))


def test_array_without_pixels_is_refused():
    with pytest.raises(ImageError, match="no pixels"):
        load_image(np.zeros((0, 5, 3), dtype=np.uint8))


def test_batch_of_several_images_is_refused():
    with pytest.raises(ImageError, match=r"\(2, 3, 4, 4\)"):
        load_image(torch.rand(2, 3, 4, 4))


def test_resizing_beyond_free_memory_is_refused_before_it_starts(monkeypatch):
    monkeypatch.setattr(images_module, "free_memory", lambda device: 2**20)  # 1 MiB free
    with pytest.raises(ImageError, match="2000x1000 px needs about .* GiB to load"):
        load_image(Image.new("RGB", (20, 10)), size=2000)


def test_load_from_grayscale_array():
    t = load_image(np.full((4, 4), 255, dtype=np.uint8))
    assert t.shape == (1, 3, 4, 4)
    assert_colour(t, (255, 255, 255))


@pytest.mark.parametrize("batched", [False, True])
def test_load_from_tensor(batched):
    source = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(0))
    t = load_image(source.unsqueeze(0) if batched else source)
    assert t.shape == (1, 3, 6, 8)
    torch.testing.assert_close(t[0], source, rtol=0, atol=0.5 / 255 + 1e-6)  # quantised to 8 bits


def test_load_from_tensor_with_wrong_shape():
    with pytest.raises(ImageError, match=r"\(4, 6, 8\)"):
        load_image(torch.rand(4, 6, 8))


def test_load_from_unsupported_type():
    with pytest.raises(ImageError, match="list"):
        load_image([1, 2, 3])


def test_load_to_device():
    t = load_image(Image.new("RGB", (2, 2)), device="cpu")
    assert t.device == torch.device("cpu")


# --- modes --------------------------------------------------------------------------------------


def test_mode_l(tmp_path):
    path = tmp_path / "gray.png"
    Image.new("L", (3, 2), 128).save(path)
    t = load_image(path)
    assert t.shape == (1, 3, 2, 3)
    assert_colour(t, (128, 128, 128))


def test_mode_la_transparency_goes_on_white(tmp_path):
    image = Image.new("LA", (2, 1), (0, 255))
    image.putpixel((1, 0), (0, 0))  # black but fully transparent
    path = tmp_path / "la.png"
    image.save(path)
    t = load_image(path)
    assert_colour(t[..., :1], (0, 0, 0))
    assert_colour(t[..., 1:], (255, 255, 255))


def test_mode_p_with_transparency(tmp_path):
    image = Image.new("P", (2, 1), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 - 2) * 3)  # index 0 black, index 1 red
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0  # index 0 is transparent
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    with Image.open(path) as check:
        assert check.mode == "P"
    t = load_image(path)
    assert_colour(t[..., :1], (255, 255, 255))  # transparent black -> white
    assert_colour(t[..., 1:], RED)


def test_mode_p_without_transparency():
    image = Image.new("P", (2, 2), 1)
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * (256 - 2) * 3)
    assert_colour(load_image(image), (10, 20, 30))


def test_mode_rgba_transparent_goes_on_white(tmp_path):
    image = Image.new("RGBA", (3, 1), (255, 0, 0, 255))
    image.putpixel((1, 0), (0, 0, 255, 0))  # fully transparent blue
    image.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black over white
    path = tmp_path / "rgba.png"
    image.save(path)
    t = load_image(path)
    assert t.shape == (1, 3, 1, 3)
    assert_colour(t[..., 0:1], RED)
    assert_colour(t[..., 1:2], (255, 255, 255))
    assert_colour(t[..., 2:3], (127, 127, 127), atol=1.5 / 255)


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 8), (0, 255, 255, 0)).save(path, quality=95)  # no cyan, full magenta and yellow: red
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    t = load_image(path)
    assert t.shape == (1, 3, 8, 16)
    assert_colour(t, RED, atol=0.06)


def test_16_bit_png(tmp_path):
    array = np.array([[0, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(array).save(path)
    with Image.open(path) as check:
        assert check.mode.startswith("I")
    t = load_image(path)
    assert t.shape == (1, 3, 1, 3)
    assert t[0, :, 0, 0].tolist() == [0.0, 0.0, 0.0]
    assert t[0, :, 0, 2].tolist() == [1.0, 1.0, 1.0]  # 65535 is white, not clipped from 255
    assert t[0, 0, 0, 1].item() == pytest.approx(128 / 255)


def test_16_bit_dark_png_is_not_stretched(tmp_path):
    # 16-bit values all <= 255 are still on the 0..65535 scale: 255 / 65535 is almost black
    path = tmp_path / "dark16.png"
    Image.fromarray(np.full((2, 2), 255, dtype=np.uint16)).save(path)
    assert load_image(path).max().item() < 2 / 255


def test_animated_gif_uses_first_frame_with_a_warning(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (4, 4), RED), Image.new("RGB", (4, 4), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 2
    with pytest.warns(UserWarning, match="2 frames"):
        t = load_image(path)
    assert t.shape == (1, 3, 4, 4)
    assert_colour(t, RED, atol=2 / 255)


def test_still_image_gives_no_frames_warning(tmp_path):
    path = tmp_path / "still.gif"
    Image.new("RGB", (4, 4), BLUE).save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = load_image(path)
    assert not [w for w in caught if issubclass(w.category, UserWarning)]
    assert_colour(t, BLUE, atol=2 / 255)


def resource_warnings_of_loading(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_image(path)
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_loading_closes_the_file(tmp_path, suffix):
    path = tmp_path / f"closed{suffix}"
    Image.new("RGB", (4, 4), BLUE).save(path)
    assert resource_warnings_of_loading(path) == []


def test_loading_a_gif_closes_the_file(tmp_path):
    path = tmp_path / "open.gif"
    Image.new("RGB", (4, 4), BLUE).save(path)
    assert resource_warnings_of_loading(path) == []


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotated_jpeg_is_upright(tmp_path, orientation):
    # stored 40 wide x 20 high, left half red, right half blue; the tag says "rotate 90 degrees to show"
    image = Image.new("RGB", (40, 20), RED)
    image.paste(BLUE, (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone{orientation}.jpg"
    image.save(path, exif=exif, quality=95)
    t = load_image(path)
    assert t.shape == (1, 3, 40, 20)  # width and height swapped
    top, bottom = t[..., 2:18, 4:16], t[..., 22:38, 4:16]
    # 6: rotate 90 degrees clockwise, so the left (red) half ends up on top; 8: counter-clockwise
    first, second = (RED, BLUE) if orientation == 6 else (BLUE, RED)
    assert_colour(top, first, atol=0.1)
    assert_colour(bottom, second, atol=0.1)


# --- resizing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, source, expected",
    [
        (60, (300, 100), (20, 60)),  # (width, height) in; (height, width) out
        (60, (100, 300), (60, 20)),
        (50, (50, 50), (50, 50)),
        (64, (32, 16), (32, 64)),  # upsampling too
        (None, (30, 10), (10, 30)),
    ],
)
def test_resize_by_longest_side_keeps_aspect(tmp_path, size, source, expected):
    path = tmp_path / "wide.png"
    Image.new("RGB", source, (10, 200, 30)).save(path)
    t = load_image(path, size=size)
    assert t.shape == (1, 3, *expected)
    assert_colour(t, (10, 200, 30), atol=1.5 / 255)


def test_resize_applies_to_every_source():
    array = np.zeros((100, 300, 3), dtype=np.uint8)
    assert load_image(array, size=60).shape == (1, 3, 20, 60)
    assert load_image(torch.zeros(3, 100, 300), size=60).shape == (1, 3, 20, 60)


def test_resize_jpeg_draft_keeps_the_requested_size(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (400, 200), (90, 90, 90)).save(path)
    assert load_image(path, size=48).shape == (1, 3, 24, 48)


@pytest.mark.parametrize("size", [0, -3, "64", math.nan, 64.0, True])
def test_bad_size_is_one_line_saying_what_is_expected(tmp_path, size):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    for source in (Image.new("RGB", (4, 4)), tmp_path / "a.png"):  # a file was a raw exception from Pillow
        with pytest.raises(ImageError, match="whole number of px >= 1") as info:
            load_image(source, size=size)
        assert "\n" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs FIFOs and /dev/zero")
def test_a_fifo_or_a_device_is_one_line_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    for path in (tmp_path / "pipe.jpg", Path("/dev/zero")):
        with guard_against_hanging(), pytest.raises(ImageError, match="not a regular file"):
            load_image(path)


# --- errors -------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="not found") as info:
        load_image(tmp_path / "nowhere.png")
    assert "nowhere.png" in str(info.value)


def test_directory(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(ImageError, match="directory") as info:
        load_image(folder)
    assert "folder.png" in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageError, match="empty") as info:
        load_image(path)
    assert "empty.png" in str(info.value)


def test_truncated_png(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = tmp_path / "full.png"
    Image.fromarray(noise).save(full)
    data = full.read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="damaged or truncated") as info:
        load_image(path)
    assert "cut.png" in str(info.value)
    assert "\n" not in str(info.value)


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match="not an image file") as info:
        load_image(path)
    assert "notes.jpg" in str(info.value)


def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        with pytest.raises(ImageError, match="permission denied") as info:
            load_image(path)
        assert "secret.png" in str(info.value)
    finally:
        path.chmod(0o644)


def test_unreadable_file_message(tmp_path, monkeypatch):
    # the same check, exercised even as root: os.access says no
    path = tmp_path / "locked.png"
    Image.new("RGB", (2, 2)).save(path)
    monkeypatch.setattr(images_module.os, "access", lambda p, mode: False)
    with pytest.raises(ImageError, match="permission denied") as info:
        load_image(path)
    assert "locked.png" in str(info.value)


def test_offline_url():
    url = "http://nonexistent.invalid/x.png"
    with pytest.raises(ImageError, match="could not download") as info:
        load_image(url)
    assert url in str(info.value)
    assert "local file" in str(info.value)


def test_image_errors_are_not_raw_pillow_errors(tmp_path):
    # a user sees one ImageError, never PIL.UnidentifiedImageError or OSError
    path = tmp_path / "garbage.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert type(info.value) is ImageError


# --- saving -------------------------------------------------------------------------------------


def test_save_png_round_trip_is_exact(tmp_path):
    image = torch.randint(0, 256, (1, 3, 9, 13), generator=torch.Generator().manual_seed(0)).float() / 255
    path = tmp_path / "out.png"
    assert save_image(image, path) == path
    back = load_image(path)
    assert back.shape == (1, 3, 9, 13)
    torch.testing.assert_close(back, image, rtol=0, atol=1e-6)


def test_save_jpeg_round_trip_is_close(tmp_path):
    y, x = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 32), indexing="ij")
    image = torch.stack([x, y, (x + y) / 2]).unsqueeze(0)  # smooth, so JPEG keeps it well
    for name in ("out.jpg", "OUT.JPEG"):
        path = save_image(image, tmp_path / name)
        with Image.open(path) as check:
            assert check.format == "JPEG"
        back = load_image(path)
        assert back.shape == (1, 3, 24, 32)
        assert (back - image).abs().mean().item() < 0.02


def test_save_accepts_unbatched_and_clamps_only_rounding(tmp_path):
    image = torch.full((3, 2, 2), 1 + 0.4 / 255)
    image[0] = -0.4 / 255
    path = save_image(image, tmp_path / "c.png")
    assert_colour(load_image(path), (0, 255, 255))


def test_save_converts_what_load_image_converts(tmp_path):
    pixels = torch.randint(0, 256, (1, 3, 5, 7), generator=torch.Generator().manual_seed(0))
    expected = pixels.float() / 255
    for name, image in {"uint8 tensor": pixels.to(torch.uint8),  # was saved all white
                        "HWC array": pixels[0].permute(1, 2, 0).numpy().astype(np.uint8),  # was a raw exception
                        "float array": expected[0].permute(1, 2, 0).numpy()}.items():
        back = load_image(save_image(image, tmp_path / "out.png"))
        torch.testing.assert_close(back, expected, rtol=0, atol=1e-6, msg=name)
    grey = load_image(save_image(expected[0, 0], tmp_path / "grey.png"))  # a 2-D tensor, was a raw exception
    torch.testing.assert_close(grey, expected[:, :1].expand(1, 3, 5, 7), rtol=0, atol=1e-6)


@pytest.mark.parametrize("image,message", [
    (torch.full((1, 3, 4, 4), 200.0), "divide by 255"),  # was saved all white
    (torch.full((1, 3, 4, 4), math.nan), "NaN"),  # was saved black
    (torch.rand(2, 3, 4, 4), r"\(2, 3, 4, 4\)"),
    ([[0.5]], "list"),
])
def test_save_refuses_what_would_be_saved_wrong_in_one_line(tmp_path, image, message):
    with pytest.raises(ImageError, match=message) as info:
        save_image(image, tmp_path / "out.png")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call,message", [
    (lambda: save_image(torch.rand(1, 3, 4, 4), 5), "cannot save an image to a int: give a file name"),
    (lambda: load_image(torch.rand(1, 3, 4, 4), device="gpu0"), "unknown device 'gpu0'"),
    (lambda: to_pil(np.zeros((4, 4, 3))), "to_pil takes an image tensor, got a ndarray; use load_image first"),
    (lambda: to_pil(torch.full((3, 4, 4), math.nan)), "NaN"),  # was shown black
    (lambda: to_pil(torch.rand(4, 4)), r"must be \(3, H, W\) or \(1, 3, H, W\), got \(4, 4\)"),
])
def test_the_image_functions_check_their_arguments_in_one_line(call, message):
    with pytest.raises(NSTError, match=message) as info:  # each was a raw TypeError, RuntimeError or AttributeError
        call()
    assert "\n" not in str(info.value)


def test_to_pil_reads_a_uint8_tensor_as_0_255():
    pixels = torch.randint(0, 256, (3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert np.array_equal(np.asarray(to_pil(pixels)), pixels.permute(1, 2, 0).numpy())  # was all white


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_a_saved_image_has_the_mode_the_umask_gives(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = save_image(torch.rand(1, 3, 4, 4), tmp_path / "out.png")  # was 0600 whatever the umask
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_bad_suffix(tmp_path):
    with pytest.raises(ImageError, match=r"\.png, \.jpg or \.jpeg") as info:
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "out.gif")
    assert "out.gif" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_missing_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist") as info:
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "missing" / "out.png")
    assert "missing" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_leaves_no_temporary_file(tmp_path):
    save_image(torch.rand(1, 3, 4, 4), tmp_path / "a.png")
    save_image(torch.rand(1, 3, 4, 4), tmp_path / "a.png")  # overwrite
    save_image(torch.rand(1, 3, 4, 4), tmp_path / "b.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.jpg"]


def test_save_failure_of_any_kind_is_one_line_and_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    Image.new("RGB", (2, 2), RED).save(path)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full\n  C++ context")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(ImageError, match="cannot save .*keep.png: disk full$"):
        save_image(torch.rand(1, 3, 4, 4), path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]  # no temporary file
    assert_colour(load_image(path), RED)  # the old file is intact


def test_save_a_name_near_the_file_system_limit(tmp_path):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    path = tmp_path / ("a" * (limit - 4) + ".png")  # the temporary file's name must fit too
    save_image(torch.rand(1, 3, 4, 4), path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize(
    "name,message",
    [
        ("a" * 300 + ".png", "File name too long"),
        ("folder.png", "it is a folder"),
        ("file.png/out.png", "folder .*file.png is not a folder"),
    ],
)
def test_check_save_path_before_any_work(tmp_path, name, message):
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(ImageError, match=message) as info:
        check_save_path(tmp_path / name)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.png", "folder.png"]  # the check leaves nothing


def test_check_save_path_where_nothing_can_be_created():
    if not Path("/proc/self").exists():
        pytest.skip("needs Linux's /proc")
    with pytest.raises(ImageError, match="cannot save /proc/x.png"):
        check_save_path("/proc/x.png")


def test_check_save_path_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_save_path("~/out.png") == tmp_path / "out.png"


def test_save_failure_from_the_disk_is_one_image_error(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(images_module.os, "replace", full)
    with pytest.raises(ImageError, match="cannot save .*out.png: No space left on device"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []
