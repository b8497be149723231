"""`nst bench` measures what it says, runs only from a checkout, and the coarse-to-fine loop works."""

import statistics
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks import bench
from benchmarks.bench import entries, evaluation_flops, matmul_flops
from benchmarks.workers import Measurement, interleaved
from nst_helpers import Objective, cli, load_image, optimize_multiscale
from nst_helpers.cli import command

from .conftest import CONTENT, ROOT, STYLE


def test_flops_of_an_evaluation_match_the_convolutions():
    # content at conv4_2, 32x32: forward + input-gradient of every conv up to conv4_2 (2 MAC-FLOPs each, x2 for backward)
    flops = evaluation_flops(32, "content")
    sizes = [(3, 64, 32), (64, 64, 32), (64, 128, 16), (128, 128, 16)] + [(128, 256, 8)] + [(256, 256, 8)] * 3 + [(256, 512, 4), (512, 512, 4)]
    forward = sum(2 * cin * cout * 9 * s * s for cin, cout, s in sizes)
    assert forward * 1.8 < flops < forward * 2.2


@pytest.mark.parametrize("implementation", ["nst_helpers", "reference", "pastiche"])
def test_a_measurement_times_an_evaluation(implementation):
    measurement = Measurement(implementation, 32, "transfer")
    assert measurement.seconds() > 0  # a time was measured (no bound: the machine may be busy)
    assert measurement.peak_bytes() >= 0


def test_ours_in_bf16_is_measured_too():
    assert Measurement("nst_helpers", 32, "content", precision="bf16").seconds() > 0


def test_implementations_take_turns_rep_by_rep_each_in_its_own_process():
    results = interleaved([("nst_helpers", "fp32"), ("reference", "fp32"), ("nst_helpers", "nonsense")], 32,
                          "content", "cpu", reps=2)
    for result in results[:2]:
        assert len(result["times"]) == 2 and result["seconds"] == statistics.median(result["times"])
        assert result["peak_bytes"] > 0
    assert "unknown precision 'nonsense'" in results[2]["error"]


def test_ours_comes_first_in_fp32_then_each_resolved_precision_once_then_the_peers(monkeypatch):
    monkeypatch.setattr(bench, "_available", lambda implementation: implementation != "pystiche")
    timed = entries(("nst_helpers", "reference", "pystiche"), ("auto", "fp32", "bf16"), "cpu")  # auto: fp32 or bf16
    assert timed == [("nst_helpers", "fp32"), ("nst_helpers", "bf16"), ("reference", "fp32")]


def test_a_ratio_is_the_median_of_the_per_rep_ratios():
    assert bench._ratio([2.0, 9.0, 3.0], {"times": [1.0, 3.0, 3.0]}) == "2.00"  # 2, 3, 1: median 2
    assert bench._ratio([2.0], {"error": "failed"}) == ""


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_matmul_flops_counts_the_work_it_did(dtype):
    """The rate is the products' FLOPs over a positive time (how fast, and how long it took, are `nst bench`'s to
    report, not a test's: a busy machine is slower)."""
    with FlopCounterMode(display=False) as counter:
        rate = matmul_flops(torch.device("cpu"), dtype, seconds=0.02)
    assert counter.get_total_flops() >= 2 * bench.SMALLEST_MATMUL**3
    assert 0 < rate < float("inf")


def test_coarse_to_fine_runs_each_size_and_continues_from_the_last(vgg):
    def build(size):
        return Objective(vgg, load_image(CONTENT, size=size), load_image(STYLE, size=size))

    result = optimize_multiscale(build, [16, 32], [3, 2], progress=False)
    assert result.image.shape == (1, 3, 32, 32)
    assert result.steps == 5 and len(result.history["total"]) == 5
    assert result.history["time"] == sorted(result.history["time"])


def test_preview_latency_measures_each_run(monkeypatch):
    from benchmarks import bench
    from nst_helpers.profiles import PROFILES

    monkeypatch.setitem(PROFILES, "tiny", (32, 3))
    seconds = bench.preview_latency("tiny", repeats=2)
    assert len(seconds) == 2 and all(s > 0 for s in seconds)


def nst(*argv):
    return subprocess.run([sys.executable, "-m", "nst_helpers.cli", *argv], capture_output=True, text=True, cwd=ROOT)


def test_nst_bench_help_explains_every_option():
    proc = nst("bench", "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split()).split("options:", 1)[1]  # after the usage line
    for option, words in {"--sizes": "sizes in px", "--implementations": "pastiche", "--device": "cpu, cuda",
                          "--reps": "timed evaluations", "--out": "folder for the JSON"}.items():
        assert f"{option} " in text and words in text.split(option, 1)[1][:200], option


def test_nst_bench_with_an_unknown_device_is_one_line():
    proc = nst("bench", "--device", "tpu")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["nst bench: error: unknown device 'tpu'; use 'cpu', 'cuda' or 'mps'"]


def test_nst_bench_outside_a_checkout_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(command, "checkout", lambda: None)
    assert cli.main(["bench"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "checkout" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is here, so tools/gpu_check.sh would run in full")
def test_gpu_check_parses_and_says_in_one_line_that_it_needs_a_gpu():
    script = ROOT / "tools" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", script]).returncode == 0
    proc = subprocess.run(["bash", script, sys.executable], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("gpu_check: no CUDA GPU here")


def test_gpu_check_rehearses_every_step_on_the_cpu():
    """`--rehearse` runs the script's steps small on the CPU: an option renamed in `nst` or the bench, or a broken
    step, shows here, not in a GPU session's few minutes."""
    proc = subprocess.run(["bash", ROOT / "tools" / "gpu_check.sh", "--rehearse", sys.executable],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = proc.stdout.partition("# GPU check")[2]
    for step in ("tests", "transfer_fp32", "transfer_auto", "losses", "bench"):
        assert f"| {step} | ok |" in report
    assert report.count(": fp32 loss ") == 2
    assert "| 64 | transfer |" in report


def test_the_table_names_the_cpu(monkeypatch):
    import platform
    from pathlib import Path

    from benchmarks.bench import cpu_name

    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: "processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t: fpu\n")
    assert cpu_name() == "Some CPU 9000"

    def missing(self, *a, **k):
        raise OSError("no /proc here")

    monkeypatch.setattr(Path, "read_text", missing)
    assert cpu_name() == (platform.processor() or platform.machine())
