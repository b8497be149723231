"""The variants of `make variants` do what they say: seeds, oneDNN, threads, precision (each restored afterwards)."""

import pytest
import torch

from nst_helpers import Objective, initial_image, profile

from . import variants


def test_seed_variant_shifts_every_seeded_start(vgg, content_image, monkeypatch):
    objective = Objective(vgg, content=content_image, content_layers=["relu1_1"])
    seed_0, seed_2 = initial_image(objective, "noise", seed=0), initial_image(objective, "noise", seed=2)
    monkeypatch.setattr(torch, "Generator", torch.Generator)  # put back after the test
    monkeypatch.setattr(torch, "manual_seed", torch.manual_seed)
    variants.apply("seed=2")
    assert torch.equal(initial_image(objective, "noise", seed=0), seed_2) and not torch.equal(seed_0, seed_2)
    assert torch.manual_seed(0).initial_seed() == 2


def test_onednn_and_thread_variants(monkeypatch):
    threads = torch.get_num_threads()
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", True)
    try:
        variants.apply("threads=1, onednn=off")
        assert torch.get_num_threads() == 1 and not torch.backends.mkldnn.enabled
    finally:
        torch.set_num_threads(threads)


def test_precision_variant_sets_every_default_precision(monkeypatch, vgg, content_image):
    monkeypatch.setenv("NST_PRECISION", "fp32")  # put back after the test
    variants.apply("precision=bf16")
    assert profile("quick", device="cpu").precision == "bf16"
    assert Objective(vgg, content=content_image, content_layers=["relu1_1"]).precision.name == "bf16"


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="gpu=on"):
        variants.apply("gpu=on")


@pytest.mark.parametrize(("chosen", "included"), [("bf16", True), ("fp32", False)])
def test_make_variants_runs_bf16_where_auto_chooses_it(monkeypatch, chosen, included):
    import importlib.util
    from pathlib import Path

    from nst_helpers.precision import Precision

    spec = importlib.util.spec_from_file_location("tools_variants", Path(__file__).parents[1] / "tools" / "variants.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    choice = Precision(chosen, torch.bfloat16 if chosen == "bf16" else None, chosen == "bf16", "auto: measured")
    monkeypatch.setattr(tool, "resolve", lambda setting, device: choice)
    names, why = tool.variants_here()
    assert names[: len(variants.VARIANTS)] == variants.VARIANTS
    assert (variants.BF16 in names) == included
    assert why.startswith(f"{variants.BF16} {'included' if included else 'left out'}") and "auto: measured" in why
