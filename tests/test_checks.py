"""Each exercise check accepts the reference answer and catches each typical wrong answer with the right message;
`claim`, the science checks' assert, says what failed and records its margin."""

import json

import pytest
import torch

from nst_helpers import checks
from nst_helpers.checks import CheckFailed, claim


def content_ok(f, p):
    return 0.5 * (f - p).pow(2).sum()


def gram_ok(f):
    b, n, h, w = f.shape
    x = f.reshape(b, n, h * w)
    return x @ x.transpose(1, 2)


def style_ok(f, a):
    _, n, h, w = f.shape
    return (gram_ok(f) - a).pow(2).sum() / (4 * n**2 * (h * w) ** 2)


def tv_ok(x):
    return (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum() + (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum()


def step_ok(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()
    optimizer.step()


@pytest.mark.parametrize(
    "check,answer",
    [
        (checks.check_content_loss, content_ok),
        (checks.check_gram_matrix, gram_ok),
        (checks.check_style_loss, style_ok),
        (checks.check_total_variation, tv_ok),
        (checks.check_step, step_ok),
    ],
)
def test_reference_answers_pass(check, answer, capsys):
    check(answer)
    assert "correct" in capsys.readouterr().out


def _gram_t(f):
    b, n, h, w = f.shape
    x = f.reshape(b, n, h * w)
    return x.transpose(1, 2) @ x


def _step_no_zero(image, optimizer, loss_fn):
    loss_fn(image).backward()
    optimizer.step()


def _step_no_step(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()


def _step_detached(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image.detach().clone().requires_grad_(True)).backward()
    optimizer.step()


def _step_ascent(image, optimizer, loss_fn):
    optimizer.zero_grad()
    (-loss_fn(image)).backward()
    optimizer.step()


WRONG = [
    (checks.check_content_loss, lambda f, p: (f - p).pow(2).sum(), "missing the 1/2"),
    (checks.check_content_loss, lambda f, p: (f - p).pow(2).mean(), "mean instead of 1/2 * the sum"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2), "single number"),
    (checks.check_content_loss, lambda f, p: torch.tensor(0.5 * (f - p).pow(2).sum().item()), "detached"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).abs().sum(), "wrong values"),
    (checks.check_content_loss, lambda f, p: None, "forget `return`"),
    (checks.check_content_loss, lambda f, p: (0.5 * (f - p).pow(2).sum()).item(), "expected a torch tensor"),
    (checks.check_gram_matrix, _gram_t, "transposed"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) / (f.shape[2] * f.shape[3]), "normalised by M"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) / (f.shape[1] * f.shape[2] * f.shape[3]), "normalised by N*M"),
    (checks.check_gram_matrix, lambda f: gram_ok(f)[0], "lost the batch dimension"),
    (checks.check_gram_matrix, lambda f: gram_ok(f).detach(), "detached"),
    (checks.check_gram_matrix, lambda f: f.reshape(1, 4, 15) @ f.reshape(1, 15, 4), "not symmetric"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).sum(), "not normalised"),
    (checks.check_style_loss, lambda f, a: style_ok(f, a) * 4, "missing the 4"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).mean(), "mean over the N x N entries"),
    (
        checks.check_style_loss,
        lambda f, a: (gram_ok(f) - a).pow(2).sum() / (4 * f.shape[1] * f.shape[2] * f.shape[3]),
        "must be squared",
    ),
    (checks.check_style_loss, lambda f, a: 1 / 0, "raised ZeroDivisionError"),
    (checks.check_total_variation, lambda x: (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum(), "only the horizontal"),
    (checks.check_total_variation, lambda x: (x[..., 1:, :] - x[..., :-1, :]).pow(2).sum(), "only the vertical"),
    (checks.check_total_variation, lambda x: (x[..., :, 1:] - x[..., :, :-1]).abs().sum() + (x[..., 1:, :] - x[..., :-1, :]).abs().sum(), "square them"),
    (checks.check_total_variation, lambda x: (x - x.roll(1, -1)).pow(2).sum() + (x - x.roll(1, -2)).pow(2).sum(), "wraps around"),
    (checks.check_total_variation, lambda x: (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean() + (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean(), "averaged"),
    (checks.check_total_variation, lambda x: (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum(-1), "one number"),
    (checks.check_total_variation, lambda x: 2 * tv_ok(x), "expected the sum"),
    (checks.check_step, _step_no_zero, "zero_grad"),
    (checks.check_step, _step_no_step, "optimizer.step()"),
    (checks.check_step, _step_detached, "no gradient reached the image"),
    (checks.check_step, _step_ascent, "went up"),
]


@pytest.mark.parametrize("check,answer,message", WRONG, ids=[m for _, _, m in WRONG])
def test_typical_wrong_answers_are_caught_with_the_right_message(check, answer, message):
    with pytest.raises(checks.CheckFailed, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        check(answer)


@pytest.mark.parametrize(
    "name,check",
    [("content_loss", checks.check_content_loss), ("gram_matrix", checks.check_gram_matrix), ("style_loss", checks.check_style_loss),
     ("total_variation", checks.check_total_variation), ("step", checks.check_step)],
)
def test_the_instructors_switch_fills_in_solutions_that_pass(name, check, monkeypatch, capsys):
    def stub(*args):
        return None

    monkeypatch.setenv("NST_SOLUTIONS", "0")
    assert checks.exercise(name, stub) is stub
    with pytest.raises(checks.CheckFailed):
        check(stub)
    monkeypatch.setenv("NST_SOLUTIONS", "1")
    check(checks.exercise(name, stub))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check", [checks.check_content_loss, checks.check_gram_matrix, checks.check_style_loss,
                                   checks.check_total_variation, checks.check_step])
def test_an_unwritten_stub_is_named_and_shown_in_one_line(check):
    def stub(*args):
        raise NotImplementedError("write it here")

    with pytest.raises(checks.CheckFailed, match="not written yet") as caught:
        check(stub)
    shown = caught.value._render_traceback_()  # what Jupyter shows instead of a traceback
    assert len(shown) == 1 and "not written yet" in shown[0]


# --- claims of the science ---


def test_claim_passes_fails_and_records_its_margin(tmp_path, monkeypatch):
    margins = tmp_path / "margins.jsonl"
    monkeypatch.setenv("NST_MARGINS", str(margins))
    claim("style loss falls (times)", 4.0, above=2)
    claim("features agree (share)", 0.01, below=0.05)
    with pytest.raises(CheckFailed, match=r"^content rises \(times\): got 1.1, should be above 1.5$"):
        claim("content rises (times)", 1.1, above=1.5)
    records = [json.loads(line) for line in margins.read_text().splitlines()]
    assert [(r["value"], r["kind"], r["threshold"], r["passed"]) for r in records] == [
        (4.0, "above", 2.0, True), (0.01, "below", 0.05, True), (1.1, "above", 1.5, False)]
    with pytest.raises(TypeError):
        claim("no bound", 1.0)
