"""Run profiles (quick / lab / paper), the choice of device, and the precision setting.

One switch, the environment variable ``NST_PROFILE``, sets the scale of every run in every notebook;
``NST_PRECISION`` sets their precision (default 'auto', see precision.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .errors import ParameterError
from .precision import PRECISIONS, check_precision


@dataclass(frozen=True)
class Profile:
    """The scale of a run: image size (long side, px), optimisation steps, the device, and the precision setting
    ('auto', 'fp32', 'bf16' or 'fp16'; `precision.resolve` says what it means on the device)."""

    name: str
    size: int
    steps: int
    device: torch.device
    precision: str = "auto"

    def __str__(self) -> str:
        return f"profile {self.name!r}: {self.size} px, {self.steps} steps, on {self.device}"


# name -> (size, steps)
PROFILES: dict[str, tuple[int, int]] = {
    "quick": (64, 40),  # tests and CI: the whole series in minutes on 2 CPU cores
    "lab": (224, 200),  # a laptop CPU in a lab session: results that look right
    "paper": (512, 1000),  # a GPU: the paper's scale
}


def default_device() -> torch.device:
    """The fastest device available: cuda, then mps, then cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Resolve ``device`` (None means `default_device`) and check that it exists here."""
    if device is None:
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ParameterError("device 'mps' was asked for but MPS is not available; use 'cpu'")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"unsupported device {device!r}; use 'cpu', 'cuda' or 'mps'")
    return dev


def free_memory(device: torch.device) -> int | None:
    """Bytes free for a run on ``device`` (None where it cannot be told)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                fields = dict(line.split(":", 1) for line in f)
            return int(fields["MemAvailable"].split()[0]) * 1024
        except (OSError, KeyError, ValueError):
            return None
    return None


def default_precision() -> str:
    """The precision setting of every run that names none: ``$NST_PRECISION``, else 'auto'."""
    setting = os.environ.get("NST_PRECISION") or "auto"
    if setting not in PRECISIONS:
        raise ParameterError(f"NST_PRECISION={setting!r} is not a precision; use one of {', '.join(PRECISIONS)}")
    return setting


def profile(
    name: str | None = None, device: str | torch.device | None = None, precision: str | None = None
) -> Profile:
    """The run profile: ``name``, else ``$NST_PROFILE``, else 'paper' on a GPU and 'lab' otherwise; its precision:
    ``precision``, else `default_precision`."""
    dev = get_device(device)
    precision = check_precision(precision) if precision is not None else default_precision()
    name = name or os.environ.get("NST_PROFILE") or ("paper" if dev.type == "cuda" else "lab")
    if name not in PROFILES:
        raise ParameterError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    size, steps = PROFILES[name]
    return Profile(name, size, steps, dev, precision)
