"""The generated style images: small, fast, and what the quick tests use. Written by ``images/make_images.py``.

numpy and Pillow only; fixed seeds make every run draw the same pictures. Each is drawn at twice its size and
downsampled, which smooths the edges.
"""

import numpy as np
from PIL import Image, ImageDraw

SIZE = 512  # side of the style images
BIG = 2 * SIZE  # drawing resolution

Color = tuple[int, int, int]


def hex_rgb(code: str) -> Color:
    """Turn ``"#rrggbb"`` into an ``(r, g, b)`` tuple."""
    return tuple(int(code[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def jitter(rng: np.random.Generator, color: Color, amount: float) -> Color:
    """Return ``color`` with each channel shifted by Gaussian noise of standard deviation ``amount``."""
    return tuple(int(c) for c in np.clip(np.array(color) + rng.normal(0, amount, 3), 0, 255))  # type: ignore[return-value]


def finish(img: Image.Image) -> Image.Image:
    """Downsample a ``BIG``-sized drawing to the final ``SIZE`` x ``SIZE`` image."""
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def swirls(seed: int = 1) -> Image.Image:
    """Thick, curved brush strokes that follow a field of vortices, in a starry-night palette."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.25, 0.3], [0.7, 0.22], [0.5, 0.62], [0.15, 0.8], [0.85, 0.75]]) * BIG
    spins = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    radii = np.array([0.17, 0.13, 0.2, 0.12, 0.14]) * BIG
    blues = [hex_rgb(c) for c in ("#0b1e4a", "#1b3a8a", "#2f5fb3", "#5b8fd1", "#9cc3e6", "#264f6e")]
    golds = [hex_rgb(c) for c in ("#f4d35e", "#e9b429", "#fff1b5", "#c98a1b", "#f7e08a")]
    greens = [hex_rgb(c) for c in ("#17392f", "#2d5e45", "#3f7a4f", "#102a26")]

    def direction(p: np.ndarray) -> np.ndarray:
        """Unit flow direction at point ``p``: a wavy drift plus swirls around the centres."""
        d = p - centres
        r2 = (d**2).sum(1)
        weight = spins * np.exp(-r2 / radii**2) * 4.0
        swirl = (np.stack([-d[:, 1], d[:, 0]], 1) / np.sqrt(r2 + 1.0)[:, None] * weight[:, None]).sum(0)
        v = np.array([1.0, 0.45 * np.sin(p[0] / BIG * 9 + p[1] / BIG * 4)]) + swirl
        return v / (np.linalg.norm(v) + 1e-9)

    def colour(p: np.ndarray) -> Color:
        """Gold near the swirl centres, green at the bottom, blue everywhere else."""
        near = np.sqrt(((p - centres) ** 2).sum(1)) / radii
        if near.min() < 0.45 + 0.25 * rng.random():
            palette = golds
        elif p[1] > 0.86 * BIG + 40 * np.sin(p[0] / BIG * 7):
            palette = greens
        else:
            palette = blues
        return jitter(rng, palette[rng.integers(len(palette))], 12)

    img = Image.new("RGB", (BIG, BIG), hex_rgb("#14295e"))
    draw = ImageDraw.Draw(img)
    for count, width, steps, step in ((900, 34, 14, 8.0), (2400, 18, 14, 6.0), (3600, 9, 14, 4.0)):
        for _ in range(count):
            p = rng.uniform(-20, BIG + 20, 2)
            base = colour(p)
            points = [tuple(p)]
            for _ in range(int(steps * rng.uniform(0.5, 1.5))):
                p = p + step * direction(p)
                points.append(tuple(p))
            w = max(2, int(width * rng.uniform(0.6, 1.3)))
            draw.line(points, fill=base, width=w, joint="curve")
            for offset in rng.uniform(-w / 2.5, w / 2.5, 2):  # bristle marks inside the stroke
                shift = np.array([offset, -offset]) * 0.7
                draw.line([(x + shift[0], y + shift[1]) for x, y in points], fill=jitter(rng, base, 28),
                          width=max(1, w // 6))
    return finish(img)


def mosaic(seed: int = 2) -> Image.Image:
    """Voronoi tiles in saturated colours laid out as a sun motif, with dark grout between them."""
    rng = np.random.default_rng(seed)
    spacing = 44
    grid = np.arange(spacing / 2, BIG, spacing)
    seeds = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2) + rng.uniform(-0.4, 0.4, (grid.size**2, 2)) * spacing
    ys, xs = np.mgrid[0:BIG, 0:BIG].astype(np.float32)
    label = np.empty((BIG, BIG), dtype=np.int32)
    gap = np.empty((BIG, BIG), dtype=np.float32)  # distance to 2nd-nearest minus nearest seed
    for r in range(0, BIG, 64):  # in bands of rows to limit memory
        d = np.sqrt((xs[r : r + 64, :, None] - seeds[:, 0]) ** 2 + (ys[r : r + 64, :, None] - seeds[:, 1]) ** 2)
        part = np.partition(d, 1, axis=-1)
        label[r : r + 64] = d.argmin(-1)
        gap[r : r + 64] = part[..., 1] - part[..., 0]

    hexes = ("#d7263d", "#f46036", "#f9c80e", "#1b998b", "#2e86ab", "#3d348b", "#ffffff", "#7fb800")
    palette = [hex_rgb(c) for c in hexes]
    rel = seeds / BIG - 0.5
    radius = np.hypot(*rel.T)
    angle = np.arctan2(rel[:, 1], rel[:, 0])
    band = (radius * 14 + 1.5 * np.sin(angle * 12)).astype(int)  # wavy rings and rays around the centre
    colours = np.array([jitter(rng, palette[b % len(palette)], 18) for b in band], dtype=np.float32)
    colours[radius < 0.09] = hex_rgb("#f9c80e")

    tile = colours[label] * np.clip(0.75 + gap[..., None] / 40, 0.75, 1.08)  # tiles darken towards their edges
    grout = np.clip((gap - 3) / 3, 0, 1)[..., None]
    rgb = tile * grout + np.array(hex_rgb("#1d1a18"), dtype=np.float32) * (1 - grout)
    return finish(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)))


def composition(seed: int = 3) -> Image.Image:
    """A Kandinsky-like composition: flat primary colours, circles, triangles and thick black lines."""
    rng = np.random.default_rng(seed)
    red, yellow, blue, black = hex_rgb("#d62828"), hex_rgb("#fcbf49"), hex_rgb("#1d4e89"), (20, 20, 20)
    img = Image.new("RGB", (BIG, BIG), hex_rgb("#f1e9d2"))
    draw = ImageDraw.Draw(img)

    blocks = ((0, 0, 300, 260, blue), (300, 0, 170, 260, yellow), (820, 700, 204, 324, red), (0, 780, 180, 244, yellow))
    for x, y, w, h, c in blocks:
        draw.rectangle((x, y, x + w, y + h), fill=c, outline=black, width=14)  # Mondrian-like blocks
    circles = ((640, 300, 210, (blue, yellow, red, black)), (250, 560, 130, (red, black, yellow)),
               (820, 860, 60, (black, blue)))
    for cx, cy, r, rings in circles:
        for i, c in enumerate(rings):  # concentric circles
            rr = r * (1 - i / len(rings))
            draw.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=c)
    draw.polygon([(420, 980), (700, 520), (760, 1000)], fill=red, outline=black, width=10)
    draw.polygon([(60, 420), (260, 300), (200, 470)], fill=blue)
    draw.polygon([(880, 80), (1000, 300), (760, 260)], fill=yellow, outline=black, width=8)
    for width, (a, b) in ((22, ((0, 690), (1024, 450))), (14, ((80, 0), (560, 1024))), (10, ((1024, 140), (380, 740)))):
        draw.line([a, b], fill=black, width=width)
    for i in range(9):  # a fan of thin lines
        end = (470 + 60 * np.cos(0.2 * i + 0.3) * 5, 40 + 60 * np.sin(0.2 * i + 0.3) * 5)
        draw.line([(470, 40), end], fill=black, width=4)
    for i in range(6):  # checkerboard patch
        for j in range(6):
            if (i + j) % 2:
                draw.rectangle((40 + 26 * i, 520 + 26 * j, 66 + 26 * i, 546 + 26 * j), fill=black)
    for _ in range(40):  # scattered small dots and arcs
        x, y, r = *rng.uniform(0, BIG, 2), rng.uniform(6, 20)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(red, yellow, blue, black)[rng.integers(4)])
    for k in range(5):
        draw.arc((560 - 40 * k, 560 - 40 * k, 940 + 40 * k, 940 + 40 * k), 190, 260, fill=black, width=6)
    return finish(img)


def pointillism(seed: int = 4) -> Image.Image:
    """Dense dabs of pure colour on paper that together form a sunset over the sea."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (BIG, BIG), hex_rgb("#f4eedc"))
    draw = ImageDraw.Draw(img)

    def scene(x: float, y: float) -> Color:
        """Colour of the underlying picture at ``(x, y)`` in units of the image size."""
        horizon = 0.55 + 0.03 * np.sin(x * 9)
        if (x - 0.62) ** 2 + (y - 0.38) ** 2 < 0.012:
            return hex_rgb("#ffd23f")  # sun
        if y < horizon:
            sky = [hex_rgb(c) for c in ("#5e60ce", "#b56576", "#f28f3b", "#f6bd60")]
            return sky[min(3, int(y / horizon * 4 + rng.normal(0, 0.35)))]
        if y > 0.8 + 0.08 * np.sin(x * 5 + 1):
            return hex_rgb("#2d6a4f") if rng.random() < 0.7 else hex_rgb("#95d5b2")  # shore
        if abs(x - 0.62) < 0.04 + (y - horizon) * 0.12 and rng.random() < 0.6:
            return hex_rgb("#ffbe0b")  # sun's reflection
        return hex_rgb("#1d3557") if rng.random() < 0.55 else hex_rgb("#457b9d")  # sea

    for r, count in ((9, 9000), (6, 22000)):
        for _ in range(count):
            x, y = rng.uniform(0, 1, 2)
            c = jitter(rng, scene(x, y), 22)
            rr = r * rng.uniform(0.7, 1.2)
            cx, cy = x * BIG, y * BIG
            draw.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=c)
    return finish(img)


STYLES = (swirls, mosaic, composition, pointillism)
