"""Run profiles (quick / lab / paper) chosen by NST_PROFILE, and the choice of device."""

import pytest
import torch

from nst_helpers import PROFILES, ParameterError, Profile, default_device, get_device, profile


@pytest.fixture(autouse=True)
def no_profile_env(monkeypatch):
    monkeypatch.delenv("NST_PROFILE", raising=False)


@pytest.mark.parametrize(
    "name, size, steps",
    [("quick", 64, 40), ("lab", 224, 200), ("paper", 512, 1000)],
)
def test_profile_from_env(monkeypatch, name, size, steps):
    monkeypatch.setenv("NST_PROFILE", name)
    p = profile(device="cpu")
    assert isinstance(p, Profile)
    assert (p.name, p.size, p.steps) == (name, size, steps)
    assert p.device == torch.device("cpu")


def test_profiles_grow_in_scale():
    quick, lab, paper = PROFILES["quick"], PROFILES["lab"], PROFILES["paper"]
    assert quick[0] < lab[0] < paper[0]
    assert quick[1] < lab[1] < paper[1]


def test_explicit_name_beats_env(monkeypatch):
    monkeypatch.setenv("NST_PROFILE", "paper")
    assert profile("quick", device="cpu").name == "quick"
    assert profile(device="cpu").name == "paper"


def test_unknown_profile_lists_the_names(monkeypatch):
    with pytest.raises(ParameterError, match="'huge'") as info:
        profile("huge", device="cpu")
    for name in ("quick", "lab", "paper"):
        assert name in str(info.value)
    monkeypatch.setenv("NST_PROFILE", "Quick")
    with pytest.raises(ParameterError, match="'Quick'"):
        profile(device="cpu")


def test_empty_env_means_default():
    assert profile(device="cpu").name == "lab"


def test_empty_env_string_means_default(monkeypatch):
    monkeypatch.setenv("NST_PROFILE", "")
    assert profile(device="cpu").name == "lab"


def test_default_is_lab_on_cpu():
    p = profile(device="cpu")
    assert (p.name, p.size, p.steps) == ("lab", 224, 200)
    if default_device().type == "cpu":
        assert profile().name == "lab"
    else:
        assert profile().name == ("paper" if default_device().type == "cuda" else "lab")


def test_profile_str_names_everything():
    text = str(profile("quick", device="cpu"))
    assert text == "profile 'quick': 64 px, 40 steps, on cpu"


def test_profile_is_frozen():
    p = profile("quick", device="cpu")
    with pytest.raises(AttributeError):
        p.size = 1024


def test_get_device_cpu():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert get_device(None) == default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is available here")
def test_get_device_cuda_without_a_gpu():
    with pytest.raises(ParameterError, match="no CUDA GPU") as info:
        get_device("cuda")
    assert "'cpu'" in str(info.value)
    with pytest.raises(ParameterError):
        profile(device="cuda:0")


@pytest.mark.parametrize("bad", ["banana", "gpu", 3.5])
def test_get_device_unknown(bad):
    with pytest.raises(ParameterError, match="'cpu', 'cuda' or 'mps'"):
        get_device(bad)


def test_get_device_unsupported_type():
    with pytest.raises(ParameterError, match="unsupported device 'meta'"):
        get_device("meta")
