"""A live preview for `train` in a notebook: the network's picture of a held-out photo, updated in place."""

from __future__ import annotations

import time

import torch

from ..images import to_pil
from .network import TransformNet


class LivePreview:
    """A `train` callback: on step 1 and then every ``seconds``, one line (step, losses, time) and the network's
    picture of ``photo`` beside the photo, replacing the last ones in the notebook's output."""

    def __init__(self, photo: torch.Tensor, seconds: float = 5.0) -> None:
        from IPython.display import Pretty, display  # only in a notebook

        self._text = Pretty

        self.photo, self.seconds, self.updates = photo, seconds, 0
        self._start = self._last = time.perf_counter()
        self.line = display(Pretty("starting ..."), display_id=True)
        self.picture = display(to_pil(torch.cat([photo, photo], -1)), display_id=True)

    def __call__(self, step: int, net: TransformNet, losses: dict[str, float]) -> None:
        now = time.perf_counter()
        if step != 1 and now - self._last < self.seconds:
            return
        with torch.no_grad():
            image = net(self.photo.to(net.device)).cpu()
        self.picture.update(to_pil(torch.cat([self.photo, image], -1)))
        terms = ", ".join(f"{k} {v:.3g}" for k, v in losses.items() if k != "time")
        self.line.update(self._text(f"step {step}: {terms} (per crop) after {now - self._start:.0f} s"))
        self.updates += 1
        self._last = time.perf_counter()
