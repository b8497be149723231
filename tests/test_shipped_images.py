"""The shipped images: every file has its credits row, and images/make_images.py's readers of the packages work."""

import importlib.util
import io
import re
import struct
import sys
import zlib

import pytest
from PIL import Image

from nst_helpers import load_image
from nst_helpers.fast import HELD_OUT, TRAINING, training_photos
from nst_helpers.folders import images_in, shipped_images

from .conftest import ROOT

IMAGES = ROOT / "images"
FOLDERS = ("content", "style", "train")


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, IMAGES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(IMAGES))  # make_images imports its neighbours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(IMAGES))
    return module


def credited_files():
    """The files that CREDITS.md's tables give a row, each as often as it has one."""
    return re.findall(r"^\| `((?:content|style|train)/[^`]+)` \|", (IMAGES / "CREDITS.md").read_text(), re.MULTILINE)


def test_every_shipped_image_has_exactly_one_credits_row_and_every_row_a_file():
    shipped = sorted(f"{folder}/{p.name}" for folder in FOLDERS for p in (IMAGES / folder).iterdir())
    rows = credited_files()
    assert sorted(set(rows)) == sorted(rows), "a file with two rows"
    assert not set(shipped) - set(rows), f"shipped without a row in images/CREDITS.md: {set(shipped) - set(rows)}"
    assert not set(rows) - set(shipped), f"a row for a file that is not shipped: {set(rows) - set(shipped)}"


def test_the_series_ships_real_paintings_and_enough_photos_to_train_on():
    styles = shipped_images("style")
    assert "starry_night.jpg" in styles and len([n for n in styles if n.endswith(".jpg")]) >= 6
    assert list(styles)[0].endswith(".jpg"), "the pickers list the paintings before the generated styles"
    photos = training_photos()
    assert len(images_in(IMAGES / "train")) >= 80 and not {p.name for p in photos} & set(HELD_OUT)
    assert all(min(Image.open(p).size) >= 256 for p in photos), "crops of 256 px need photos that large"


@pytest.mark.parametrize("name", ["quick", "lab"])
def test_every_training_photo_takes_the_profile_s_crops(name):
    settings = TRAINING[name]  # photos are loaded at settings.size (long side), then cut into square crops
    small = [p.name for p in training_photos() if min(load_image(p, size=settings.size).shape[-2:]) < settings.crop]
    assert not small, f"too narrow for {settings.crop} px crops at {settings.size} px: {small}"


@pytest.mark.parametrize("name", ["style/starry_night.jpg", "content/chenonceau.jpg", "train/sea3.jpg"])
def test_shipped_jpegs_load_as_rgb_tensors(name):
    image = load_image(IMAGES / name, size=64)
    assert image.shape[:2] == (1, 3) and max(image.shape[-2:]) == 64 and 0.05 < image.mean() < 0.95


def rcc(files, compressed=()):
    """A Qt resource file (format 3) holding ``files`` (path -> bytes), the paths in ``compressed`` zlib-compressed."""
    tree = {}
    for path in files:
        *folders, name = path.strip("/").split("/")
        node = tree
        for folder in folders:
            node = node.setdefault(folder, {})
        node[name] = path
    nodes, names, data = [], b"", b""
    queue = [("", tree)]  # breadth first: the children of a folder are consecutive nodes
    while queue:
        name, item = queue.pop(0)
        name_offset = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
        if isinstance(item, dict):
            first = 1 + len(nodes) + len(queue)
            nodes.append(struct.pack(">IHII", name_offset, 2, len(item), first) + bytes(8))
            queue += sorted(item.items())
        else:
            content = files[item]
            if item in compressed:
                content = struct.pack(">I", len(content)) + zlib.compress(content)
            nodes.append(struct.pack(">IHHHI", name_offset, 1 if item in compressed else 0, 0, 0, len(data)) + bytes(8))
            data += struct.pack(">I", len(content)) + content
    header = 24
    return (b"qres" + struct.pack(">IIIII", 3, header + len(data) + len(names), header, header + len(data), 0)
            + data + names + b"".join(nodes))


def test_the_rcc_reader_reads_nested_folders_plain_and_compressed_files():
    read_rcc = load_script("qt_rcc").read_rcc
    files = {"/a/README": b"hello", "/a/b/photo.webp": bytes(range(256)) * 40, "/top.txt": b"x"}
    assert read_rcc(rcc(files, compressed={"/a/b/photo.webp"})) == files
    with pytest.raises(ValueError, match="not a Qt resource"):
        read_rcc(b"PK\x03\x04" + bytes(40))


README = """Copyright: Someone, 2020
License: CC-BY-SA 4.0
Files:
map.svg
shared.webp

Copyright: A Photographer
License: CC0-1.0
Source: https://commons.wikimedia.org/wiki/File:Free.jpg
Files: free.webp

Copyright: Another
License: Public Domain
Source: https://commons.wikimedia.org/wiki/File:Small.jpg
Files:
small.webp
"""


def test_only_photos_that_their_readme_marks_free_and_large_are_taken(tmp_path, monkeypatch):
    make_images = load_script("make_images")
    webp = {}
    for name, size in (("free", 1200), ("shared", 1200), ("small", 300)):
        buffer = io.BytesIO()
        Image.new("RGB", (size, size * 3 // 4), (200, 100, 50)).save(buffer, "WEBP")
        webp[name] = buffer.getvalue()
    folder = "/gcompris/src/activities/test/resource"
    files = {f"{folder}/README": README.encode(), **{f"{folder}/{k}.webp": v for k, v in webp.items()}}
    (tmp_path / make_images.GCOMPRIS_RCC).mkdir(parents=True)
    (tmp_path / make_images.GCOMPRIS_RCC / "test.rcc").write_bytes(rcc(files, compressed={f"{folder}/README"}))
    monkeypatch.setattr(make_images, "PHOTO_FOLDERS", {"test.rcc": folder})
    photos = make_images.gcompris_photos(tmp_path)
    assert [(p.path.rsplit("/", 1)[1], p.author, p.licence) for p, _ in photos] == [
        ("free.webp", "A Photographer", "CC0-1.0")]
    assert photos[0][0].source.endswith("File:Free.jpg") and photos[0][1].size == (1200, 900)
