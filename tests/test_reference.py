"""The reference figures (nst_helpers/reference.py) and their renderer (tools/reference_figures.py), rehearsed small."""

import json
import os
import sys
from pathlib import Path

import matplotlib
import pytest

from nst_helpers import images_dir
from nst_helpers import reference as R
from nst_helpers.lbfgs import RESUME_STEP

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import reference_figures as tool  # noqa: E402


def test_every_panel_names_shipped_images_and_real_layers(vgg):
    for figure, (panels, ncols) in R.FIGURES.items():
        assert panels and ncols >= 1, figure
        for ref in panels.values():
            for path in (ref.content, ref.style):
                assert path is None or (images_dir() / path).is_file(), (figure, path)
            vgg.check_layers(ref.content_layers + ref.style_layers)


def test_panels_with_the_same_settings_share_one_run_and_others_do_not():
    keys = [ref.key for panels, _ in R.FIGURES.values() for ref in panels.values()]
    distinct = {ref for panels, _ in R.FIGURES.values() for ref in panels.values()}
    assert len({ref.key for ref in distinct}) == len(distinct)  # a key per distinct setting
    assert keys.count(R.BASE.key) == 4  # Figures 3, 4, 5 and 6 share the paper's base run
    assert next(iter(R.references())) == R.BASE.key  # rendered first
    assert R.Reference("a.jpg", None).key != R.Reference("a.jpg", None, seed=1).key


def test_figure_4_is_the_papers_grid():
    panels, ncols = R.FIGURES["4"]
    refs = list(panels.values())
    assert ncols == 4 and len(refs) == 20
    assert [r.ratio for r in refs[:4]] == [1e-5, 1e-4, 1e-3, 1e-2]
    assert [len(r.style_layers) for r in refs[::4]] == [1, 2, 3, 4, 5]
    assert all(r.init == "noise" for r in refs)  # the paper's start


@pytest.mark.parametrize("totals, expected", [([10.0] * 150, True), ([200.0 - i for i in range(150)], False),
                                               ([10.0] * 50, False),
                                               ([200.0 - i for i in range(150)] + [1000.0], False)])
def test_converged_when_the_last_steps_gained_under_one_percent(totals, expected):
    # the last case: a resumed run's first plain gradient step raises the loss; that is not convergence
    assert tool.converged(totals) is expected


def test_render_resumes_and_never_repeats_a_panel(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "output_dir", lambda: tmp_path / "runs")
    out = tmp_path / "reference"
    tool.main(["5", "--size", "32", "--max-steps", "3", "--out", str(out), "--threads", "1"])
    first = json.loads((out / R.RECORD).read_text())
    assert set(first) == {ref.key for ref in R.FIGURES["5"][0].values()}
    assert all(v["steps"] == 3 and v["resumed_at"] == [] for v in first.values())
    jpegs = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}
    assert len(jpegs) == 2

    tool.main(["5", "--size", "32", "--max-steps", "6", "--out", str(out)])  # recorded: nothing to do
    assert json.loads((out / R.RECORD).read_text()) == first
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")} == jpegs

    (out / R.RECORD).unlink()  # as if stopped after 3 steps: the checkpoints continue
    first_steps, optimize = [], tool.optimize_image
    monkeypatch.setattr(tool, "optimize_image", lambda *a, **kw: first_steps.append(kw["first_step"]) or optimize(*a, **kw))
    tool.main(["5", "--size", "32", "--max-steps", "6", "--out", str(out)])
    assert first_steps == [RESUME_STEP] * 2  # a small first step: the default one from a good image undoes its work
    again = json.loads((out / R.RECORD).read_text())
    assert all(v["steps"] == 6 and v["resumed_at"] == [3] for v in again.values())
    assert all(1 <= v["best_step"] < 6 and v["loss"] <= first[k]["loss"] for k, v in again.items())  # the lowest kept
    assert all(v["loss_every_25"][0] == first[k]["loss_every_25"][0] for k, v in again.items())  # the same start


def test_unknown_figure_is_one_line(capsys):
    with pytest.raises(SystemExit):
        tool.main(["8"])
    assert "unknown figure '8'" in capsys.readouterr().err


def test_show_reference_draws_rendered_panels_and_says_how_to_render_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "output_dir", lambda: tmp_path / "runs")
    out = tmp_path / "reference"
    tool.main(["5", "--size", "32", "--max-steps", "2", "--out", str(out)])
    monkeypatch.setattr(R, "folder", lambda: out)
    fig = R.show_reference("5")
    assert sum(bool(ax.images) for ax in fig.axes) == 2
    assert "2 of 2 panels" in fig._suptitle.get_text() and "from the paper's start" in fig._suptitle.get_text()
    fig = R.show_reference("6")  # only its seed 0, Figure 5's conv4_2 run, is rendered
    assert [bool(ax.images) for ax in fig.axes] == [False, False, True, False, False, False]
    assert "from the start each panel names" in fig._suptitle.get_text()  # two of its starts are not white noise
    assert sum("reference_figures.py 6" in ax.texts[0].get_text() for ax in fig.axes if ax.texts) == 5
    with pytest.raises(R.ParameterError, match="unknown figure"):
        R.show_reference("2")


def test_a_panel_claimed_by_a_running_process_is_left_to_it(tmp_path):
    lock = tmp_path / "panel.lock"
    assert tool.take(lock) and lock.read_text() == str(os.getpid())  # free: taken
    assert not tool.take(lock)  # this process (running) holds it: another one would skip it
    lock.write_text("999999999")  # a process that has ended (no such pid): taken over
    assert tool.take(lock)
