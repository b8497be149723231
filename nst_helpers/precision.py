"""Precision: the network's forward pass in fp32, or in bf16 (or fp16) with channels_last where that is faster.

One setting, ``precision``: 'auto' (the default; `$NST_PRECISION` sets another), 'fp32', 'bf16' or 'fp16' (CUDA
only). `resolve` turns it into a `Precision` for a device, with the reason for the choice (`nst doctor` prints
it). Only the network's forward pass runs in the lower precision, under `torch.autocast`; its feature maps come
back in fp32, so the image being optimised, the targets, the Gram matrices and the losses stay fp32.

'auto' chooses bf16 + channels_last only where the win is too large to miss, from the hardware alone (so every
run on a machine decides the same way):
- on a CUDA GPU that runs bf16 natively (Ampere and later);
- on a CPU with AMX, whose bf16 matrix units run VGG's convolutions several times faster than fp32 (2.4x a whole
  evaluation, issue 16);
and fp32 elsewhere: a CPU with AVX512-BF16 but no AMX ran an evaluation from 0.74x to 1.85x fp32's speed, depending
on the process and the load (a timing probe flipped between runs), a CPU without either emulates bf16, slowly, and
MPS is not measured. A torch too old to tell (no ``torch.cpu._is_amx_tile_supported``) gets fp32.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ParameterError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
FP16_LOSS_SCALE = 2.0**10  # fp16's gradients underflow below 6e-8: optimize_image back-propagates the loss times this


@dataclass(frozen=True)
class Precision:
    """How the network's forward pass runs: ``name`` ('fp32', 'bf16', 'fp16'), the ``autocast`` dtype (None: plain
    fp32), whether the input and the convolution weights are ``channels_last``, and the ``reason`` for the choice."""

    name: str
    autocast: torch.dtype | None
    channels_last: bool
    reason: str

    @property
    def loss_scale(self) -> float:
        """What `optimize_image` multiplies the loss by for the backward pass (and divides the gradient by)."""
        return FP16_LOSS_SCALE if self.autocast is torch.float16 else 1.0

    def __str__(self) -> str:
        return f"{self.name}{' + channels_last' if self.channels_last else ''} ({self.reason})"


FP32 = Precision("fp32", None, False, "asked for")


def check_precision(name: object) -> str:
    """``name`` if it is one of `PRECISIONS`, else a one-line `ParameterError`."""
    if name not in PRECISIONS:
        raise ParameterError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    return name


def _choice(name: str, reason: str) -> Precision:
    return Precision(name, DTYPES[name], name != "fp32", reason)


def resolve(setting: str | Precision, device: torch.device | str) -> Precision:
    """The `Precision` that ``setting`` means on ``device`` ('auto' decides here; a `Precision` stays as it is)."""
    if isinstance(setting, Precision):
        return setting
    name, kind = check_precision(setting), torch.device(device).type
    if name == "auto":
        return _auto(kind)
    if name != "fp32" and kind == "mps":
        raise ParameterError(f"precision {name!r} is not supported on mps here; use 'fp32'")
    if name == "fp16" and kind != "cuda":
        raise ParameterError(f"precision 'fp16' runs on a CUDA GPU only, not on {kind}; use 'bf16' or 'fp32'")
    return _choice(name, "asked for")


def _cpu_has(feature: str) -> bool:
    """Whether this torch says the CPU has ``feature`` ('amx_tile', 'avx512_bf16'); False where it cannot tell."""
    check = getattr(torch.cpu, f"_is_{feature}_supported", None)  # private API, present from torch 2.3
    return bool(check()) if check is not None else False


def _auto(kind: str) -> Precision:
    if kind == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return _choice("bf16", "auto: this GPU runs bf16 natively")
        return _choice("fp32", "auto: this GPU has no native bf16; fp16 only if asked for")
    if kind != "cpu":
        return _choice("fp32", f"auto: bf16 is not measured on {kind}")
    if _cpu_has("amx_tile"):
        return _choice("bf16", "auto: this CPU has AMX, which runs bf16 several times faster than fp32")
    if _cpu_has("avx512_bf16"):
        return _choice("fp32", "auto: this CPU has AVX512-BF16 but no AMX, where bf16 is not reliably faster; "
                               "'bf16' if asked for")
    return _choice("fp32", "auto: this CPU has no AMX (nor AVX512-BF16), so bf16 would be slow or emulated")


_LOWERED: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, nn.Module]] = weakref.WeakKeyDictionary()
_LOWERED_LOCK = threading.Lock()


def lowered(network: nn.Module, precision: Precision) -> nn.Module:
    """``network`` with its convolution and linear weights in ``precision``'s dtype (and channels_last where it
    says): a copy, made once per network and kept while the network lives, remade if its weights change. The
    network itself stays as it was for fp32 runs, and autocast need not convert the weights at every pass."""
    if precision.autocast is None:
        return network
    layout = torch.channels_last if precision.channels_last else torch.contiguous_format
    key = (precision.autocast, layout, *((p.data_ptr(), p._version) for p in network.parameters()))
    with _LOWERED_LOCK:
        kept = _LOWERED.get(network)
        if kept is None or kept[0] != key:
            twin = copy.deepcopy(network)
            for module in twin.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    module.to(precision.autocast, memory_format=layout)
            kept = _LOWERED[network] = (key, twin)
    return kept[1]


def forward(
    network: nn.Module, image: torch.Tensor, layers: Iterable[str], precision: Precision
) -> dict[str, torch.Tensor]:
    """``network(image, layers)`` in ``precision``: feature maps by name, in fp32, in the layout they were computed
    in (channels_last on the fast path: `gram_matrix` reads it as it lies, and no pass transposes the maps)."""
    if precision.autocast is None:
        return network(image, layers)
    if precision.channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    device = next(network.parameters()).device.type
    with torch.autocast(device, precision.autocast):
        features = lowered(network, precision)(image, layers)
    return {name: f.float() for name, f in features.items()}
