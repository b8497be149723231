"""Precision: what 'auto' chooses and why, the bf16 path's results against fp32's, and one-line refusals."""

import subprocess
import sys

import pytest
import torch

from nst_helpers import Objective, ParameterError, optimize_image, profile
from nst_helpers import precision as P
from nst_helpers.explore import content_explorer, style_explorer, transfer_explorer
from nst_helpers.losses import content_loss, gram_matrix, style_layer_loss

from .conftest import DEVICE

if DEVICE.startswith("cuda"):
    BF16_HARDWARE = torch.cuda.is_bf16_supported(including_emulation=False)
else:
    BF16_HARDWARE = P._cpu_has("avx512_bf16") or P._cpu_has("amx_tile")
bf16 = pytest.mark.skipif(not BF16_HARDWARE, reason=f"no native bf16 on {DEVICE} (a CPU needs AVX512-BF16 or AMX): "
                          "emulated, too slow to test here")


def cpu(monkeypatch, amx: bool, avx512: bool) -> None:
    """Pretend this CPU has (or lacks) AMX and AVX512-BF16."""
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512)


def test_auto_is_fp32_on_avx512_bf16_without_amx(monkeypatch):
    cpu(monkeypatch, amx=False, avx512=True)
    choice = P.resolve("auto", "cpu")
    assert (choice.name, choice.autocast, choice.channels_last) == ("fp32", None, False)
    assert "AVX512-BF16 but no AMX" in str(choice)


@pytest.mark.parametrize("avx512", [True, False])
def test_auto_is_bf16_and_channels_last_with_amx(monkeypatch, avx512):
    cpu(monkeypatch, amx=True, avx512=avx512)
    choice = P.resolve("auto", "cpu")
    assert (choice.name, choice.autocast, choice.channels_last) == ("bf16", torch.bfloat16, True)
    assert "AMX" in choice.reason


def test_auto_is_fp32_on_a_cpu_without_bf16(monkeypatch):
    cpu(monkeypatch, amx=False, avx512=False)
    assert P.resolve("auto", "cpu").reason == "auto: this CPU has no AMX (nor AVX512-BF16), so bf16 would be slow or emulated"


def test_auto_is_fp32_where_torch_cannot_tell(monkeypatch):
    # torch older than 2.3 has no torch.cpu._is_amx_tile_supported: fp32, not an AttributeError
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    assert P.resolve("auto", "cpu").name == "fp32"


@pytest.mark.parametrize(("native", "name"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_follows_native_bf16(monkeypatch, native, name):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native)
    assert P.resolve("auto", "cuda").name == name
    assert P.resolve("auto", "mps").name == "fp32"


def test_auto_decides_the_same_in_ten_fresh_processes():
    code = "from nst_helpers import precision as P; print(P.resolve('auto', 'cpu'))"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(10)}
    assert len(runs) == 1, runs


@pytest.mark.parametrize("bad", ["fp64", "BF16", 16, None])
def test_an_unknown_precision_is_one_line(vgg, content_image, bad):
    with pytest.raises(ParameterError) as info:
        P.resolve(bad, "cpu")
    assert str(info.value) == f"unknown precision {bad!r}; choose one of auto, fp32, bf16, fp16"
    if bad is not None:
        with pytest.raises(ParameterError, match="unknown precision"):
            Objective(vgg, content_image, precision=bad)
        with pytest.raises(ParameterError, match="unknown precision"):
            profile("quick", device="cpu", precision=bad)


def test_an_unknown_nst_precision_names_the_variable(monkeypatch):
    monkeypatch.setenv("NST_PRECISION", "half")
    with pytest.raises(ParameterError, match="NST_PRECISION='half' is not a precision; use one of auto, fp32"):
        profile("quick", device="cpu")


def test_fp16_on_cpu_and_bf16_on_mps_are_refused_in_one_line():
    with pytest.raises(ParameterError) as info:
        P.resolve("fp16", "cpu")
    assert str(info.value) == "precision 'fp16' runs on a CUDA GPU only, not on cpu; use 'bf16' or 'fp32'"
    with pytest.raises(ParameterError, match="not supported on mps here; use 'fp32'"):
        P.resolve("bf16", "mps")


def test_the_profile_and_the_objective_default_to_nst_precision(monkeypatch, vgg, content_image):
    monkeypatch.setenv("NST_PRECISION", "bf16")
    assert profile("quick", device="cpu").precision == "bf16"
    assert Objective(vgg, content_image, content_layers=["relu1_1"]).precision.name == "bf16"
    monkeypatch.delenv("NST_PRECISION")
    assert profile("quick", device="cpu").precision == "auto"


def test_the_fp32_path_is_the_plain_network_and_losses(vgg, content_image, style_image):
    objective = Objective(vgg, content_image, style_image, precision="fp32")
    assert str(objective.precision) == "fp32 (asked for)"
    image = style_image.clone().requires_grad_(True)
    terms = objective(image)
    feats = vgg(image, objective.layers)
    targets_c, targets_s = vgg(content_image, ["relu4_2"]), vgg(style_image, objective.style_layers)
    content = content_loss(feats["relu4_2"], targets_c["relu4_2"], objective.normalization)
    style = 0
    for k in objective.style_layers:
        _, n, h, w = feats[k].shape
        style = style + 0.2 * style_layer_loss(gram_matrix(feats[k]), gram_matrix(targets_s[k]), n, h * w)
    assert torch.equal(terms["content"], content) and torch.equal(terms["style"], objective.style_weight * style)


@bf16
def test_bf16_runs_the_network_only_and_keeps_the_rest_fp32(vgg, content_image, style_image):
    objective = Objective(vgg, content_image, style_image, precision="bf16")
    reference = Objective(vgg, content_image, style_image, precision="fp32")
    assert all(t.dtype == torch.float32 for t in (*objective.style_targets.values(), *objective.content_targets.values()))
    image = ((content_image + style_image) / 2).requires_grad_(True)
    terms = objective(image)
    sum(terms.values()).backward()
    assert image.grad.dtype == torch.float32 and image.grad.abs().sum() > 0
    for name, value in reference(image).items():
        assert value.dtype == torch.float32 and abs(terms[name].item() / value.item() - 1) < 0.05, name
    low = P.lowered(vgg, objective.precision)
    assert low is P.lowered(vgg, objective.precision)  # converted once, and kept
    assert low.features[0].weight.dtype == torch.bfloat16
    assert low.features[2].weight.is_contiguous(memory_format=torch.channels_last)
    assert vgg.features[0].weight.dtype == torch.float32 and vgg.features[2].weight.is_contiguous()  # untouched


@bf16
def test_the_same_transfer_in_bf16_and_fp32_ends_within_15_percent(vgg, content_image, style_image):
    # From the photo perturbed by seeded noise, 30 L-BFGS steps at 64 px; each run's best image, in fp32 loss. Measured
    # (1 thread) on the paper's objective (normalised VGG19, 'paper-mean'): bf16 ends +7.6%, +3.3% and +2.5% above fp32
    # for seeds 0, 1, 2 (on the text's objective and the original network it was within 0.7%: worth a look where bf16
    # is 'auto', on AMX or a GPU). Not the last image: L-BFGS without a line search can end on an uphill
    # step, in either precision.
    noise = torch.rand(content_image.shape, generator=torch.Generator().manual_seed(0)) - 0.5
    start = (content_image + 0.2 * noise).clamp(0, 1)
    fp32 = Objective(vgg, content_image, style_image, precision="fp32")
    best = {}
    for precision in ("fp32", "bf16"):
        seen = []

        def record(step, image, losses, seen=seen):
            with torch.no_grad():
                seen.append(sum(fp32(image).values()).item())

        objective = Objective(vgg, content_image, style_image, precision=precision)
        optimize_image(objective, init=start, steps=30, progress=False, callback=record)
        best[precision] = min(seen)
    assert abs(best["bf16"] / best["fp32"] - 1) < 0.15, best


def test_fp16_scales_the_loss_for_the_backward_pass_and_the_gradient_back():
    target = torch.linspace(0, 1, 48).reshape(1, 3, 4, 4)

    def plain(image, precision=None):
        return {"total": 1e10 * (image - target).pow(2).sum()}

    def scaled(image, precision=None):
        return plain(image)

    scaled.precision = P.Precision("fp16", torch.float16, True, "test")
    assert scaled.precision.loss_scale == P.FP16_LOSS_SCALE and P.resolve("fp32", "cpu").loss_scale == 1
    for optimizer in ("lbfgs", "adam"):
        start = torch.full((1, 3, 4, 4), 0.5)
        runs = [optimize_image(f, init=start, steps=5, optimizer=optimizer, progress=False) for f in (plain, scaled)]
        assert runs[0].history["total"] == pytest.approx(runs[1].history["total"], rel=1e-4), optimizer


def test_an_fp16_objective_runs_under_autocast(vgg, content_image, style_image):
    """fp16 is refused on a CPU, but its code path runs there too: a `Precision` given directly is used as it is."""
    half = P.Precision("fp16", torch.float16, True, "test")
    content, style = content_image[..., :32, :32], style_image[..., :32, :32]
    grads = []
    for precision in ("fp32", half):
        objective = Objective(vgg, content, style, precision=precision)
        image = ((content + style) / 2).requires_grad_(True)
        sum(objective(image).values()).backward()  # the paper's objective is of order 1e2 here: no overflow
        grads.append(image.grad.flatten())
    assert objective.precision is half and grads[1].dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(*grads, dim=0) > 0.99


def test_the_explorers_pass_their_precision_to_the_objective(vgg, content_image):
    assert content_explorer(vgg, precision="fp32")._objective(content_image, ["relu1_1"]).precision.name == "fp32"
    assert style_explorer(vgg, precision="bf16")._objective(content_image, ["relu1_1"]).precision.name == "bf16"
    assert transfer_explorer(vgg, precision="bf16").precision == "bf16"
