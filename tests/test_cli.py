"""The `nst` command end to end: runs, and one bad input per argument (one line on stderr, exit 2)."""

import ast
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image

import nst_helpers
from nst_helpers import Objective, load_image, optimize_image, save_image
from nst_helpers import objective as objective_module
from nst_helpers.cli import fast as fast_command
from nst_helpers.cli import main
from nst_helpers.cli import transfer as transfer_command
from nst_helpers.fast import TRAINING, TransformNet, load_network, save_network, train
from nst_helpers.fast.train import LAYERS

from .conftest import CONTENT, STYLE, guard_against_hanging

FAST = ["--size", "32", "--steps", "3"]


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_doctor_reports_versions_device_weights_profile_and_precision(capsys):
    code, out, _ = run(capsys, "doctor")
    assert code == 0
    for expected in ("torch", "device: cpu", "sha256", "loads: ok", "profile", "precision: fp32 (asked for)"):
        assert expected in out
    code, out, _ = run(capsys, "doctor", "--precision", "auto")
    assert code == 0 and "precision: " in out and "(auto: " in out


def test_fp16_on_cpu_is_refused_in_one_line_before_any_work(capsys, tmp_path):
    code, out, err = run(capsys, "transfer", CONTENT, STYLE, "-o", tmp_path / "out.png", "--precision", "fp16",
                         "--device", "cpu", *FAST)
    assert code == 2 and not (tmp_path / "out.png").exists()
    assert err == "nst: error: precision 'fp16' runs on a CUDA GPU only, not on cpu; use 'bf16' or 'fp32'\n"


def test_transfer_runs_in_the_precision_asked_for(capsys, tmp_path):
    code, out, err = run(capsys, "transfer", CONTENT, STYLE, "-o", tmp_path / "out.png", "--precision", "bf16", *FAST)
    assert code == 0, err
    assert "3 steps" in out and ", bf16, final loss" in out


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
    "seed overflow": (["transfer", CONTENT, STYLE, "--seed", str(2**70)], "64 bits"),
    "negative size": (["transfer", CONTENT, STYLE, "--size", "-5"], "--size"),
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
    nst = shutil.which("nst") or shutil.which("nst", path=str(Path(sys.executable).parent))
    assert nst, "the `nst` console script should be on the venv's PATH"
    proc = subprocess.run([nst, "transfer", "missing.png", "missing.png", "-o", "x.png"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "nst: error: image file not found: missing.png"


INTERRUPT_TORCH = """import sys
class Interrupt:  # Ctrl-C while torch is still loading
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
from nst_helpers.cli import main
sys.exit(main())
"""


def _torchscript(folder: Path) -> Path:
    path = folder / "scripted.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, and still in use
        torch.jit.save(torch.jit.trace(torch.nn.Conv2d(3, 3, 1), torch.rand(1, 3, 4, 4)), path)
    return path


ONE_LINE = {  # argv, the start of the line; each run in a new process, whose HOME cannot be written
    "no matplotlib's cache warnings": (["-m", "nst_helpers.cli", "transfer", "missing.png", STYLE, "-o", "o.png"],
                                       "nst: error: image file not found: missing.png"),
    "a TorchScript file as a network": (["-m", "nst_helpers.cli", "stylize", CONTENT, "--model", "SCRIPTED", "-o",
                                         "o.png"], "nst: error: could not read "),
    "a TorchScript file as weights": (["-m", "nst_helpers.cli", "transfer", CONTENT, STYLE, "--weights", "SCRIPTED",
                                       "-o", "o.png"], "nst: error: could not read weights from "),
    "nst bench with a bad option": (["-m", "nst_helpers.cli", "bench", "--bogus"],
                                    "nst bench: error: unrecognized arguments: --bogus"),
    "Ctrl-C while torch loads": (["-c", INTERRUPT_TORCH, "doctor"], "nst: interrupted; nothing written"),
}


@pytest.mark.parametrize("name", ONE_LINE)
def test_an_error_is_one_line_whatever_the_environment(tmp_path, name):
    argv, line = ONE_LINE[name]
    argv = [str(_torchscript(tmp_path)) if a == "SCRIPTED" else str(a) for a in argv]
    (tmp_path / "home").write_text("a file, so nothing can be made in it")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "XDG_"))} | {
        "HOME": str(tmp_path / "home"), "PYTHONPATH": str(Path(nst_helpers.__file__).parents[1])}
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1])
    assert proc.returncode in (2, 128 + signal.SIGINT), proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(line), proc.stderr
    assert proc.stdout == ""


def test_the_package_loads_torch_and_matplotlib_only_when_a_name_needs_them():
    check = ("import sys, nst_helpers.cli; loaded = lambda: sorted({'torch', 'matplotlib'} & set(sys.modules)); "
             "print(loaded()); nst_helpers.load_image; print(loaded()); nst_helpers.show_images; print(loaded())")
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": str(Path(nst_helpers.__file__).parents[1])})
    assert proc.stdout.splitlines() == ["[]", "['torch']", "['matplotlib', 'torch']"], proc.stderr
    assert all(getattr(nst_helpers, name) is not None for name in nst_helpers.__all__)


def test_a_warning_after_a_success_is_one_line(capsys, tmp_path):
    frames = [Image.new("RGB", (32, 24), colour) for colour in ("red", "blue")]
    frames[0].save(tmp_path / "moving.gif", save_all=True, append_images=frames[1:])
    code, out, err = run(capsys, "stylize", tmp_path / "moving.gif", "--model", "mosaic", "-o", tmp_path / "o.png")
    assert code == 0 and out.startswith("wrote ")
    assert err == f"nst: warning: {tmp_path / 'moving.gif'} has 2 frames: using the first\n"


# --- nothing lost, nothing overwritten ------------------------------------------------------------


@pytest.fixture
def inputs(tmp_path):
    """Copies of the content and style images, and a link to the content image, in tmp_path."""
    content, style = tmp_path / "photo.png", tmp_path / "style.png"
    shutil.copy(CONTENT, content)
    shutil.copy(STYLE, style)
    (tmp_path / "link.png").symlink_to(content)
    (tmp_path / "sub").mkdir()
    return content, style


@pytest.mark.parametrize("output", ["photo.png", "./photo.png", "sub/../photo.png", "link.png", "hard.png", "style.png"])
def test_output_that_is_an_input_is_refused_and_the_input_kept(capsys, tmp_path, monkeypatch, inputs, output):
    content, style = inputs
    (tmp_path / "hard.png").hardlink_to(content)
    monkeypatch.chdir(tmp_path)
    before = content.read_bytes(), style.read_bytes()
    code, _, err = run(capsys, "transfer", "photo.png", "style.png", "-o", output, *FAST)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nst: error: ") and "is the input" in err
    assert (content.read_bytes(), style.read_bytes()) == before


def test_reconstruct_also_refuses_its_input(capsys, tmp_path, inputs):
    content, _ = inputs
    code, _, err = run(capsys, "reconstruct", "content", content, "-o", tmp_path / "link.png", *FAST)
    assert code == 2 and "is the input" in err


@pytest.mark.parametrize(
    "output,message",
    [
        ("folder.png", "it is a folder"),
        (".", "it is a folder"),  # a folder named without a file suffix: the folder is what is wrong
        ("file.png/out.png", "is not a folder"),
        ("a" * 300 + ".png", "File name too long"),
        ("https://example.com/out.png", "is a URL"),
        ("/proc/out.png", "cannot save /proc/out.png"),
    ],
)
def test_bad_output_path_is_found_before_the_run(capsys, tmp_path, monkeypatch, output, message):
    if output.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("needs Linux's /proc")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(transfer_command, "load_image", lambda *a, **k: pytest.fail("the run started"))
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", output, *FAST)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nst: error: ") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.png", "folder.png"]


def test_size_that_cannot_fit_is_refused_before_any_image_is_resized(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer_command, "load_image", lambda *a, **k: pytest.fail("an image was loaded and resized"))
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", tmp_path / "out.png", "--size", "100000")
    assert code == 2
    assert err.count("\n") == 1 and "needs about" in err and "px or less" in err


def test_when_no_size_fits_the_guard_says_so(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 2**20)
    code, _, err = run(capsys, "reconstruct", "style", CONTENT, "-o", tmp_path / "out.png", *FAST)
    assert code == 2 and "no size fits" in err and "px or less" not in err


def signal_at(signum, at):
    """An `Objective.__call__` that sends ``signum`` to this process at its ``at``-th call."""
    call, calls = Objective.__call__, []

    def wrapped(objective, image):
        calls.append(1)
        if len(calls) == at:
            signal.raise_signal(signum)
        return call(objective, image)

    return wrapped


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("at", [1, 3])
def test_a_signal_saves_the_best_image_and_exits_non_zero(capsys, tmp_path, monkeypatch, name, at):
    signum = getattr(signal, name)

    def unhandled(*args):
        raise RuntimeError(f"{name} reached the test: `nst` did not handle it")

    monkeypatch.setattr(Objective, "__call__", signal_at(signum, at))
    previous = signal.signal(signum, unhandled)
    try:
        code, out, err = run(capsys, "transfer", CONTENT, STYLE, "-o", tmp_path / "out.png", *FAST)
    finally:
        signal.signal(signum, previous)
    assert code == 128 + signum
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"nst: interrupted at step {at}: returning the ")
    assert ("the starting image" if at == 1 else "the best image so far") in err
    assert f"wrote {tmp_path / 'out.png'}" in err
    with Image.open(tmp_path / "out.png") as image:
        assert max(image.size) == 32


def test_infinite_loss_at_the_first_step_keeps_the_image_and_exits_2(capsys, tmp_path):
    out_path = tmp_path / "out.png"
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", out_path, *FAST, "--style-weight", "1e308")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nst: error: loss became inf at step 1: kept the starting image")
    assert out_path.stat().st_size > 0


@pytest.mark.parametrize("beside", [True, False])
def test_if_saving_fails_after_the_run_the_image_goes_elsewhere_and_says_where(capsys, tmp_path, monkeypatch, beside):
    out_path = tmp_path / "out.png"
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    link = os.link

    def full(src, dst):  # the last step of a save
        if Path(dst) == out_path or (not beside and Path(dst).parent == tmp_path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return link(src, dst)

    monkeypatch.setattr(os, "link", full)
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", out_path, *FAST)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"nst: error: cannot save {out_path}: No space left on device; wrote ")
    saved = Path(err.split("; wrote ")[1].removesuffix(" instead\n"))
    assert saved.parent == (tmp_path if beside else elsewhere) and saved.name.startswith("out-")
    with Image.open(saved) as image:
        assert max(image.size) == 32 and image.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["tmp", *[saved.name][:beside]])  # nothing else


def test_an_image_another_run_writes_meanwhile_is_kept_and_this_one_saved_beside_it(capsys, tmp_path, monkeypatch):
    out_path = tmp_path / "out.png"
    save_image(torch.zeros(1, 3, 4, 4), out_path)  # an earlier result, which this run may replace

    def optimize_while_another_run_saves(*args, **kwargs):
        save_image(torch.ones(1, 3, 4, 4), out_path)
        return optimize_image(*args, **kwargs)

    monkeypatch.setattr(transfer_command, "optimize_image", optimize_while_another_run_saves)
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", out_path, *FAST)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"nst: error: cannot save {out_path}: another run wrote it meanwhile; wrote ")
    assert load_image(out_path).min() == 1  # the other run's result, kept
    with Image.open(err.split("; wrote ")[1].removesuffix(" instead\n")) as image:
        assert max(image.size) == 32


@pytest.mark.parametrize("content", [torch.zeros(3), {"epoch": 3}])
def test_weights_file_that_is_not_a_state_dict(capsys, tmp_path, content):
    torch.save(content, tmp_path / "w.pth")
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "-o", tmp_path / "out.png", "--weights", tmp_path / "w.pth")
    assert code == 2 and err.count("\n") == 1 and "not a state dict" in err


# --- nst train and nst stylize --------------------------------------------------------------------------------------

TRAIN_FAST = ["--size", "32", "--crop", "16", "--batch", "1", "--steps", "2"]


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(CONTENT, folder / "a.png")
    return folder


def test_train_then_stylize(capsys, tmp_path, photo_folder):
    model = tmp_path / "style.pt"
    code, out, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST)
    assert code == 0, err
    assert out.startswith(f"wrote {model} (2 steps, 2 crops of 1 photos") and model.stat().st_size < 700_000
    info = load_network(model).info  # the file records how it was trained: the profile's settings, the options
    assert (info["size"], info["crop"], info["batch"], info["steps"]) == (32, 16, 1, 2)
    assert (info["lr"], info["zoom"]) == (TRAINING["quick"].lr, TRAINING["quick"].zoom)
    image = tmp_path / "out.png"
    code, out, err = run(capsys, "stylize", CONTENT, "--model", model, "-o", image)
    assert code == 0, err
    with Image.open(image) as picture:
        assert max(picture.size) == 32  # the size it was trained at
    code, out, err = run(capsys, "stylize", CONTENT, "--model", "mosaic", "-o", image, "--size", "40")
    assert code == 0 and " ms)" in out, err
    with Image.open(image) as picture:
        assert max(picture.size) == 40


FAST_BAD = {
    "train output suffix": (["train", STYLE, "-o", "net.png"], "use a .pt or .pth file name"),
    "train style": (["train", "missing.png", "-o", "net.pt"], "not found"),
    "train photos folder": (["train", STYLE, "-o", "net.pt", "--photos", "nowhere"], "not a folder"),
    "train crop too large": (["train", STYLE, "-o", "net.pt", "--crop", "100"], "at least that large"),
    "train output is the style": (["train", "STYLE_COPY", "-o", "STYLE_COPY"], "use a .pt"),
    "train ratio": (["train", STYLE, "-o", "net.pt", "--ratio", "0"], "--ratio"),
    "train start": (["train", STYLE, "-o", "net.pt", "--start", "nowhere"], "network file not found"),
    "stylize model missing": (["stylize", CONTENT, "--model", "nowhere.pt", "-o", "out.png"], "network file not found"),
    "stylize model not a network": (["stylize", CONTENT, "--model", STYLE, "-o", "out.png"], "could not read"),
    "stylize photo": (["stylize", "missing.png", "--model", "mosaic", "-o", "out.png"], "not found"),
    "stylize output suffix": (["stylize", CONTENT, "--model", "mosaic", "-o", "out.txt"], ".png"),
    "stylize size": (["stylize", CONTENT, "--model", "mosaic", "-o", "out.png", "--size", "0"], "--size"),
}


@pytest.mark.parametrize("name", FAST_BAD)
def test_train_and_stylize_errors_are_one_line(capsys, tmp_path, monkeypatch, photo_folder, name):
    argv, expected = FAST_BAD[name]
    monkeypatch.chdir(tmp_path)
    argv = [str(tmp_path / "style.png") if a == "STYLE_COPY" else a for a in argv]
    shutil.copy(STYLE, tmp_path / "style.png")
    extra = ["--photos", photo_folder, *TRAIN_FAST] if argv[0] == "train" and "--photos" not in argv else []
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run(capsys, *argv, *extra[: 2 if "--crop" in argv else None])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_stylize_refuses_to_overwrite_its_photo(capsys, tmp_path):
    photo = tmp_path / "photo.png"
    shutil.copy(CONTENT, photo)
    code, _, err = run(capsys, "stylize", photo, "--model", "mosaic", "-o", photo)
    assert code == 2 and "is the input" in err


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("at", [1, 2, 5])  # call 1 is the check before step 1, call k + 1 step k's loss
def test_a_signal_during_training_saves_the_best_weights(capsys, tmp_path, monkeypatch, photo_folder, name, at):
    signum = getattr(signal, name)

    def unhandled(*args):
        raise RuntimeError(f"{name} reached the test: `nst` did not handle it")

    monkeypatch.setattr(Objective, "__call__", signal_at(signum, at))
    previous = signal.signal(signum, unhandled)
    model = tmp_path / "style.pt"
    try:
        code, out, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST[:-1], "5")
    finally:
        signal.signal(signum, previous)
    assert code == 128 + signum
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err and f"wrote {model}" in err
    assert err.startswith(f"nst: interrupted at step {at - 1}: kept the best weights so far (")
    # the weights of the last finished step are measured too (the checks run every 20 steps): step 3's beat step 0's
    assert {1: "(untrained: none measured)", 2: "(step 0, loss ", 5: "(step 3, loss "}[at] in err
    assert load_network(model).info["best_step"] == {1: 0, 2: 0, 5: 3}[at]


def test_train_never_replaces_a_network(capsys, tmp_path, monkeypatch, photo_folder):
    model = tmp_path / "style.pt"
    model.write_bytes(b"a network trained for hours")
    monkeypatch.setattr(fast_command, "load_image", lambda *a, **k: pytest.fail("the run started"))
    code, _, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err == f"nst: error: output {model} exists and would be overwritten; write to another name\n"
    assert model.read_bytes() == b"a network trained for hours"


def test_a_network_that_appears_during_training_is_kept_and_the_new_one_saved_beside_it(
        capsys, tmp_path, monkeypatch, photo_folder):
    model = tmp_path / "style.pt"

    def train_while_another_writes(*args, **kwargs):
        model.write_bytes(b"another run's network")
        return train(*args, **kwargs)

    monkeypatch.setattr(fast_command, "train", train_while_another_writes)
    code, _, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"nst: error: cannot save {model}: a file of that name appeared during the run; wrote ")
    assert model.read_bytes() == b"another run's network"
    saved = Path(err.split("; wrote ")[1].removesuffix(" instead\n"))
    assert saved.parent == tmp_path and saved.suffix == ".pt" and load_network(saved).info["steps"] == 2


@pytest.mark.parametrize("failures", [1, 2])
def test_a_network_whose_save_fails_in_any_way_is_saved_elsewhere_and_said_in_one_line(
        capsys, tmp_path, monkeypatch, photo_folder, failures):
    model, elsewhere = tmp_path / "style.pt", tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    save, calls = torch.save, []

    def full(*args, **kwargs):  # what torch.save raises on a full disk: a RuntimeError, not an OSError
        calls.append(1)
        if len(calls) <= failures:
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64\nC++ frames")
        return save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", full)
    code, _, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"nst: error: cannot save {model}: [enforce fail at inline_container.cc:626] . unexpected pos")
    saved = Path(err.split("; wrote ")[1].removesuffix(" instead\n"))
    assert saved.parent == (tmp_path if failures == 1 else elsewhere) and saved.suffix == ".pt"
    assert load_network(saved).info["steps"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["photos", "tmp", *[saved.name][:2 - failures]])


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB file system of its own (a tmpfs), where a mount is allowed (root on Linux); the test is skipped
    elsewhere (the tests above simulate the full disk)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]
    if not shutil.which("mount") or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)  # lazy: a file left open must not fail the test


def test_a_network_too_large_for_its_disk_goes_to_the_temporary_folder(capsys, tmp_path, monkeypatch, photo_folder,
                                                                       small_disk):
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    model = small_disk / "style.pt"  # about 0.57 MB: torch.save fails part way, with a RuntimeError
    code, _, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"nst: error: cannot save {model}: No space left on device ([enforce fail at "), err
    saved = Path(err.split("; wrote ")[1].removesuffix(" instead\n"))
    assert saved.parent == elsewhere and load_network(saved).info["steps"] == 2
    assert list(small_disk.iterdir()) == []  # no partial file left


def test_a_network_whose_folder_is_removed_during_training_goes_to_the_temporary_folder(
        capsys, tmp_path, monkeypatch, photo_folder):
    folder, elsewhere = tmp_path / "out", tmp_path / "tmp"
    folder.mkdir()
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))

    def train_while_the_folder_goes(*args, **kwargs):
        folder.rmdir()
        return train(*args, **kwargs)

    monkeypatch.setattr(fast_command, "train", train_while_the_folder_goes)
    code, _, err = run(capsys, "train", STYLE, "-o", folder / "style.pt", "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"nst: error: cannot save {folder / 'style.pt'}: No such file or directory; wrote {elsewhere}")
    assert load_network(err.split("; wrote ")[1].removesuffix(" instead\n")).info["steps"] == 2


def test_two_trainings_saving_one_file_at_once_keep_both_networks(capsys, tmp_path, monkeypatch, photo_folder):
    model = tmp_path / "style.pt"
    save = torch.save

    def another_run_saves_meanwhile(*args, **kwargs):  # the other run's whole save, within this one's
        monkeypatch.setattr(torch, "save", save)
        save_network(TransformNet(), model, style="the other run's")
        return save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", another_run_saves_meanwhile)
    code, _, err = run(capsys, "train", STYLE, "-o", model, "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"nst: error: cannot save {model}: a file of that name appeared during the run; wrote ")
    assert load_network(model).info == {"style": "the other run's"}
    saved = Path(err.split("; wrote ")[1].removesuffix(" instead\n"))
    assert saved.parent == tmp_path and load_network(saved).info["steps"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["photos", "style.pt", saved.name])


def test_training_opens_only_the_regular_files_of_its_photo_folder(capsys, tmp_path, photo_folder):
    os.mkfifo(photo_folder / "pipe.jpg")  # would wait for a writer forever
    (photo_folder / "folder.png").mkdir()
    with guard_against_hanging():
            code, out, err = run(capsys, "train", STYLE, "-o", tmp_path / "style.pt", "--photos", photo_folder,
                             *TRAIN_FAST)
    assert code == 0, err
    assert "crops of 1 photos" in out


def test_an_unreadable_photo_folder_is_one_line(capsys, tmp_path, monkeypatch, photo_folder):
    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)  # as chmod 000 would, for a user other than root
    code, _, err = run(capsys, "train", STYLE, "-o", tmp_path / "style.pt", "--photos", photo_folder, *TRAIN_FAST)
    assert code == 2 and err == f"nst: error: --photos {photo_folder}: cannot read it: Permission denied\n"


def _free_for(need: int) -> int:
    """The free memory at which a run may use exactly ``need`` bytes."""
    return int(need / 0.8)


def test_a_training_step_that_cannot_fit_is_refused_before_any_photo_is_loaded(capsys, tmp_path, monkeypatch, vgg,
                                                                             photo_folder):
    one_crop = vgg.estimate_bytes(256, 256, LAYERS) + TransformNet().estimate_bytes(256, 256, training=True)
    monkeypatch.setattr(objective_module, "free_memory", lambda device: _free_for(4 * one_crop))
    monkeypatch.setattr(fast_command, "load_image", lambda *a, **k: pytest.fail("a photo was loaded"))
    code, _, err = run(capsys, "train", STYLE, "-o", tmp_path / "net.pt", "--photos", photo_folder, "--size", "256",
                       "--crop", "256", "--batch", "64")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("nst: error: training on 64 crops of 256 px a step needs about ")
    fits = int(err.split("use a batch of ")[1].split(" or less")[0])
    assert 1 <= fits < 64 and not (tmp_path / "net.pt").exists()


def test_a_pass_that_cannot_fit_is_refused_before_the_photo_is_loaded(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 200 * 2**20)
    monkeypatch.setattr(fast_command, "load_image", lambda *a, **k: pytest.fail("the photo was loaded"))
    code, _, err = run(capsys, "stylize", CONTENT, "--model", "mosaic", "-o", tmp_path / "out.png", "--size", "3000")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("nst: error: a 3000x3000 px pass through the network needs about ")
    fits = int(err.split("use a size of ")[1].split(" px or less")[0])
    assert TransformNet().estimate_bytes(fits, fits) <= 0.8 * 200 * 2**20 < TransformNet().estimate_bytes(3000, 3000)


def test_a_panorama_goes_through_a_network(capsys, tmp_path):
    Image.new("RGB", (1200, 40), (90, 140, 200)).save(tmp_path / "pano.png")
    code, _, err = run(capsys, "stylize", tmp_path / "pano.png", "--model", "mosaic", "-o", tmp_path / "out.png",
                       "--size", "100")
    assert code == 0, err
    with Image.open(tmp_path / "out.png") as image:
        assert image.size == (100, 3)


def test_a_network_file_that_records_a_bad_size_is_one_line(capsys, tmp_path):
    model = tmp_path / "net.pt"
    save_network(TransformNet(), model, size="large")
    code, _, err = run(capsys, "stylize", CONTENT, "--model", model, "-o", tmp_path / "out.png")
    assert code == 2 and err.count("\n") == 1 and "training size 'large'" in err and "train it again" in err
    assert not (tmp_path / "out.png").exists()


# --- the package's structure ----------------------------------------------------------------------------------------


def _imports(root: Path) -> dict[str, set[str]]:
    """Module name -> the package's modules it imports (at its top or in a function), from the source."""
    def name(path):
        parts = path.relative_to(root.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name(p): p for p in root.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
                deps |= {f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[module] = (deps & set(modules)) - {module}
    return graph


def test_the_package_has_no_import_circle():
    graph = _imports(Path(nst_helpers.__file__).parent)
    done: set[str] = set()

    def visit(module, path):
        assert module not in path, f"import circle: {' -> '.join([*path[path.index(module):], module])}"
        if module not in done:
            for dep in graph[module]:
                visit(dep, [*path, module])
            done.add(module)

    for module in graph:
        visit(module, [])
    assert graph["nst_helpers.cli"] == {"nst_helpers.cli.command"}  # the walk sees the CLI's imports
