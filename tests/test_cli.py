"""The `nst` command end to end: runs, and one bad input per argument (one line on stderr, exit 2)."""

import shutil
import subprocess
import sys

import pytest
from PIL import Image

from nst_helpers.cli import main

from .conftest import CONTENT, STYLE

FAST = ["--size", "32", "--steps", "3"]


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_doctor_reports_versions_device_weights_and_profile(capsys):
    code, out, _ = run(capsys, "doctor")
    assert code == 0
    for expected in ("torch", "device: cpu", "sha256", "loads: ok", "profile"):
        assert expected in out


def test_transfer_writes_an_image(capsys, tmp_path):
    out_path = tmp_path / "out.png"
    code, out, err = run(capsys, "transfer", CONTENT, STYLE, "-o", out_path, *FAST)
    assert code == 0, err
    assert "wrote" in out
    with Image.open(out_path) as image:
        assert max(image.size) == 32 and image.mode == "RGB"


@pytest.mark.parametrize("what,layers", [("content", "conv2_2"), ("style", "conv1_1,conv2_1")])
def test_reconstruct_writes_an_image(capsys, tmp_path, what, layers):
    out_path = tmp_path / "out.jpg"
    code, _, err = run(capsys, "reconstruct", what, CONTENT, "-o", out_path, "--layers", layers, *FAST)
    assert code == 0, err
    assert out_path.stat().st_size > 0


BAD = {
    "content": (["transfer", "missing.png", STYLE], "not found"),
    "style": (["transfer", CONTENT, "README.md"], "not an image"),
    "output suffix": (["transfer", CONTENT, STYLE, "--output-suffix"], ".png"),
    "size": (["transfer", CONTENT, STYLE, "--size", "0"], "--size"),
    "steps": (["transfer", CONTENT, STYLE, "--steps", "ten"], "--steps"),
    "content-weight": (["transfer", CONTENT, STYLE, "--content-weight", "-1"], "--content-weight"),
    "style-weight": (["transfer", CONTENT, STYLE, "--style-weight", "nan"], "--style-weight"),
    "tv-weight": (["transfer", CONTENT, STYLE, "--tv-weight", "inf"], "--tv-weight"),
    "content-layer": (["transfer", CONTENT, STYLE, "--content-layer", "conv9_9"], "valid layers"),
    "style-layers": (["transfer", CONTENT, STYLE, "--style-layers", ","], "no layers"),
    "init": (["transfer", CONTENT, STYLE, "--init", "zeros"], "--init"),
    "optimizer": (["transfer", CONTENT, STYLE, "--optimizer", "sgd"], "--optimizer"),
    "pooling": (["transfer", CONTENT, STYLE, "--pooling", "min"], "--pooling"),
    "arch+weights": (["transfer", CONTENT, STYLE, "--arch", "vgg16"], "only vgg19"),
    "weights": (["transfer", CONTENT, STYLE, "--weights", "nowhere.pth"], "neither"),
    "seed": (["transfer", CONTENT, STYLE, "--seed", "x"], "--seed"),
    "device": (["transfer", CONTENT, STYLE, "--device", "tpu"], "device"),
    "profile": (["transfer", CONTENT, STYLE, "--profile", "huge"], "--profile"),
    "reconstruct what": (["reconstruct", "texture", CONTENT], "texture"),
    "reconstruct layers": (["reconstruct", "style", CONTENT, "--layers", "relu9_1"], "valid layers"),
    "too small": (["reconstruct", "content", CONTENT, "--size", "4", "--layers", "conv5_2"], "at least 16 px"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, tmp_path, name):
    argv, expected = BAD[name]
    out_path = tmp_path / ("out.txt" if name == "output suffix" else "out.png")
    argv = [a for a in argv if a != "--output-suffix"]
    code, _, err = run(capsys, argv[0], *FAST, *argv[1:], "-o", out_path)  # the case's own options come last and win
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_fails_before_the_run(capsys, tmp_path):
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", tmp_path / "no" / "out.png", *FAST)
    assert code == 2 and "does not exist" in err


def test_console_script_is_installed():
    nst = shutil.which("nst") or shutil.which("nst", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert nst, "the `nst` console script should be on the venv's PATH"
    proc = subprocess.run([nst, "transfer", "missing.png", "missing.png", "-o", "x.png"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "nst: error: image file not found: missing.png"
