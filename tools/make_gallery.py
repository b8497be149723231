"""Compose the README's gallery from notebook 4's saved results: `python tools/make_gallery.py [PROFILE]`.

Reads `outputs/04_{content}_{style}_{profile}.png` (written by notebook 4) and the shipped images, and writes
`docs/gallery.jpg`: one column per pair, the result on top, the photo and the painting below it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from nst_helpers.saving import write_file  # noqa: E402

PAIRS = [("chenonceau", "starry_night"), ("chenonceau", "whalers"), ("chenonceau", "grande_jatte"),
         ("chenonceau", "mada_primavesi")]  # notebook 4's transfers with the paper's settings
SIDE, HEIGHT, GAP = 224, 168, 6  # px per result (4:3, as the photo), px between tiles


def main(profile: str = "lab") -> None:
    sheet = Image.new("RGB", (len(PAIRS) * (SIDE + GAP) - GAP, HEIGHT + GAP + HEIGHT // 2), "white")
    for i, (content, style) in enumerate(PAIRS):
        result = ROOT / "outputs" / f"04_{content}_{style}_{profile}.png"
        if not result.exists():
            sys.exit(f"{result.relative_to(ROOT)} not found: run notebook 4 at the {profile!r} profile first")
        x = i * (SIDE + GAP)
        sheet.paste(ImageOps.fit(Image.open(result).convert("RGB"), (SIDE, HEIGHT)), (x, 0))
        half = (SIDE - GAP) // 2
        originals = [next((ROOT / "images" / kind).glob(f"{name}.*"))
                     for kind, name in (("content", content), ("style", style))]
        for j, path in enumerate(originals):
            thumb = ImageOps.fit(Image.open(path).convert("RGB"), (half, HEIGHT // 2))
            sheet.paste(thumb, (x + j * (half + GAP), HEIGHT + GAP))
    out = ROOT / "docs" / "gallery.jpg"
    write_file(out, lambda f: sheet.save(f, "JPEG", quality=90))
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
