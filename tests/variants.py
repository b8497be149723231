"""The variations a user's machine brings, applied to a test run or a notebook kernel (`make variants`).

``NST_VARIANT`` holds comma-separated settings:
  ``threads=N``   torch uses N threads (another core count rounds sums in another order)
  ``onednn=off``  oneDNN's convolutions are off (other kernels, other rounding, as on another CPU)
  ``seed=K``      every seeded start draws from seed + K (``torch.Generator().manual_seed`` and ``torch.manual_seed``)
  ``precision=P`` every run that names no precision uses P (``NST_PRECISION``; 'bf16' is the fast path of a CPU
                  with AMX or a recent GPU, emulated and slower elsewhere)
The empty string changes nothing.
"""

from __future__ import annotations

import os

import torch

# what `make variants` runs everywhere; "" is the default. BF16 is added where 'auto' chooses bf16 (tools/variants.py).
VARIANTS = ["", "threads=1", "onednn=off", "seed=1", "seed=2"]
BF16 = "precision=bf16"


class _ShiftedGenerator(torch.Generator):
    shift = 0

    def manual_seed(self, seed: int) -> torch.Generator:
        return super().manual_seed(seed + self.shift)


_manual_seed = torch.manual_seed


def _shifted_manual_seed(seed: int) -> torch.Generator:
    return _manual_seed(seed + _ShiftedGenerator.shift)


def apply(spec: str) -> None:
    """Apply ``spec`` (e.g. ``"threads=1,seed=2"``) to this process."""
    for setting in filter(None, (s.strip() for s in spec.split(","))):
        key, _, value = setting.partition("=")
        if key == "threads":
            torch.set_num_threads(int(value))
        elif key == "onednn" and value == "off":
            torch.backends.mkldnn.enabled = False
        elif key == "seed":
            _ShiftedGenerator.shift = int(value)
            torch.Generator = _ShiftedGenerator
            torch.manual_seed = _shifted_manual_seed
        elif key == "precision":
            os.environ["NST_PRECISION"] = value
        else:
            raise ValueError(f"unknown variant setting {setting!r} in NST_VARIANT; see tests/variants.py")
