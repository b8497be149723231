"""Each exercise check accepts every right answer and catches each typical wrong answer with its own one-line
message; `solution` and the instructor's switch put the reference in place; `claim`, the science checks' assert,
says what failed and records its margin."""

import inspect
import json
import math
import pathlib
import re
import warnings

import pytest
import tomllib
import torch

from nst_helpers import NSTError, checks, content_loss, gram_matrix, total_variation
from nst_helpers.checks import CheckFailed, claim
from nst_helpers.checks.core import SHAPES

# --- right answers, in the notations the notebooks' texts invite ---


def content_ok(f, p):
    return 0.5 * (f - p).pow(2).sum()


def gram_ok(f):
    b, n, h, w = f.shape
    x = f.reshape(b, n, h * w)
    return x @ x.transpose(1, 2)


def gram_nm(f):  # the text's N x M matrix, the batch dimension put back
    _, n, h, w = f.shape
    x = f.reshape(n, h * w)
    return (x @ x.T).unsqueeze(0)


def gram_permuted(f):  # positions first, done right: permute before the reshape
    b, n, h, w = f.shape
    x = f.permute(0, 2, 3, 1).reshape(b, h * w, n)
    return x.transpose(1, 2) @ x


def style_ok(f, a):
    _, n, h, w = f.shape
    return (gram_ok(f) - a).pow(2).sum() / (4 * n**2 * (h * w) ** 2)


def style_nm(f, a):  # N x M notation: G is (N, N), A (1, N, N)
    _, N, H, W = f.shape
    M = H * W
    F = f.reshape(N, M)
    return ((F @ F.T - a) ** 2).sum() / (4 * N**2 * M**2)


def _d(x):
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def tv_ok(x):
    dx, dy = _d(x)
    return dx.pow(2).mean() + dy.pow(2).mean()


def step_ok(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()
    optimizer.step()


def _step_zero_last(image, optimizer, loss_fn):
    loss_fn(image).backward()
    optimizer.step()
    optimizer.zero_grad()


def _step_zero_last_kept(image, optimizer, loss_fn):
    loss_fn(image).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)


def _step_loss_first(image, optimizer, loss_fn):
    loss = loss_fn(image)
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    optimizer.step()


def _step_closure(returned):
    """``optimizer.step(closure)``, the closure returning ``returned(loss)``: Adam and SGD run it the same way."""
    def step(image, optimizer, loss_fn):
        def closure():
            optimizer.zero_grad()
            loss = loss_fn(image)
            loss.backward()
            return returned(loss)

        optimizer.step(closure)

    return step


def _x(f):  # (1, N, H, W) -> (1, N, M)
    return f.reshape(f.shape[0], f.shape[1], -1)


def _nm(f):
    return f.shape[1], f.shape[2] * f.shape[3]


def _tv_conv_rgb(x):  # a difference kernel per colour channel, made for the notebook's RGB images
    k = torch.tensor([[[[-1.0, 1.0]]]], dtype=x.dtype).repeat(3, 1, 1, 1)
    dx, dy = (torch.nn.functional.conv2d(x, w, groups=3) for w in (k, k.transpose(2, 3)))
    return dx.pow(2).mean() + dy.pow(2).mean()


RIGHT = [
    (checks.check_content_loss, content_ok, "content: half the sum"),
    (checks.check_content_loss, lambda f, p: ((f - p) ** 2).sum() / 2, "content: ** 2, / 2"),
    (checks.check_content_loss, lambda f, p: torch.nn.functional.mse_loss(f, p, reduction="sum") / 2, "content: mse_loss"),
    (checks.check_gram_matrix, gram_ok, "gram: (b, N, HW)"),
    (checks.check_gram_matrix, gram_nm, "gram: N x M, unsqueezed"),
    (checks.check_gram_matrix, gram_permuted, "gram: permuted, then (b, HW, N)"),
    (checks.check_gram_matrix, lambda f: torch.einsum("bnhw,bmhw->bnm", f, f), "gram: einsum"),
    (checks.check_style_loss, style_ok, "style: 4-D"),
    (checks.check_style_loss, style_nm, "style: N x M"),
    (checks.check_total_variation, tv_ok, "tv: a mean per direction"),
    (checks.check_total_variation, lambda x: total_variation(x), "tv: the package's default"),
    (checks.check_step, step_ok, "step: zero_grad, backward, step"),
    (checks.check_step, _step_zero_last, "step: backward, step, zero_grad"),
    (checks.check_step, _step_zero_last_kept, "step: backward, step, zero_grad(set_to_none=False)"),
    (checks.check_step, _step_loss_first, "step: loss, zero_grad(set_to_none=False), backward, step"),
    (checks.check_step, _step_closure(lambda loss: loss), "step: closure returning loss"),
    (checks.check_step, _step_closure(lambda loss: loss.detach()), "step: closure returning loss.detach()"),
    (checks.check_step, _step_closure(lambda loss: loss.item()), "step: closure returning loss.item()"),
    (checks.check_content_loss, lambda f, p: 0.5 * torch.linalg.vector_norm(f - p) ** 2, "content: norm squared"),
    (checks.check_content_loss, lambda f, p: torch.nn.functional.mse_loss(f, p) * f.numel() / 2, "content: mean * numel / 2"),
    (checks.check_content_loss, lambda f, p: 0.5 * ((f.double() - p.double()) ** 2).sum(), "content: float64"),
    (checks.check_gram_matrix, lambda f: torch.bmm(_x(f), _x(f).mT), "gram: bmm, mT"),
    (checks.check_gram_matrix, lambda f: (_x(f).unsqueeze(2) * _x(f).unsqueeze(1)).sum(-1), "gram: broadcast products"),
    (checks.check_gram_matrix, lambda f: _x(f).double() @ _x(f).double().transpose(1, 2), "gram: float64"),
    (checks.check_style_loss, lambda f, a: ((gram_ok(f) - a) ** 2).sum() / (2 * _nm(f)[0] * _nm(f)[1]) ** 2, "style: (2 N M)**2"),
    (checks.check_style_loss, lambda f, a: ((gram_ok(f) - a) ** 2).mean() / (4 * _nm(f)[1] ** 2), "style: mean / (4 M**2)"),
    (checks.check_style_loss, lambda f, a: torch.norm(gram_ok(f) - a) ** 2 / (4 * f.numel() ** 2), "style: norm**2, numel"),
    (checks.check_total_variation, lambda x: torch.diff(x, dim=-1).pow(2).mean() + torch.diff(x, dim=-2).pow(2).mean(), "tv: torch.diff"),
    (checks.check_total_variation, lambda x: sum(torch.nn.functional.mse_loss(a, b) for a, b in ((x[..., 1:], x[..., :-1]), (x[..., 1:, :], x[..., :-1, :]))), "tv: mse_loss"),
    (checks.check_total_variation, lambda x: tv_ok(x.double()), "tv: float64"),
    # written for one image, as the notebooks' comments have it: a batch of two may fail, or see the first image only
    (checks.check_gram_matrix, lambda f: (lambda x: (x @ x.T).unsqueeze(0))(f[0].reshape(f.shape[1], -1)), "gram: f[0]"),
    (checks.check_gram_matrix, lambda f: (lambda x: (x @ x.T).unsqueeze(0))(f.view(f.shape[1], -1)), "gram: view(N, -1)"),
    (checks.check_style_loss, lambda f, a: style_nm(f[:1], a[:1]), "style: the first image"),
    (checks.check_total_variation, lambda x: tv_ok(x[0]), "tv: x[0]"),
    (checks.check_total_variation, lambda x: (lambda y: (y[:, :, 1:] - y[:, :, :-1]).pow(2).mean() + (y[:, 1:] - y[:, :-1]).pow(2).mean())(x.squeeze(0)), "tv: squeeze(0), 3-D slices"),
    (checks.check_total_variation, _tv_conv_rgb, "tv: conv2d, groups=3, a kernel for RGB only"),
    # batched, as the package's are: one Gram matrix per image, one number for the batch
    (checks.check_total_variation, lambda x: _tv_per_image(x).mean(), "tv: the mean of the images' TVs"),
]


@pytest.mark.parametrize("check,answer", [(c, a) for c, a, _ in RIGHT], ids=[i for _, _, i in RIGHT])
def test_right_answers_pass(check, answer, capsys):
    check(answer)
    assert capsys.readouterr().out.endswith(": correct\n")


def test_the_content_loss_hand_example_works_for_every_accepted_answer():
    for check, answer, _ in RIGHT:
        if check is checks.check_content_loss:  # the line after the check in notebook 2
            assert answer(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 0.0])).item() == 6.5


# --- wrong answers: each names its mistake ---


def _content_nm(f, p):  # the text's N x M notation, written for 4-D feature maps only
    b, n, h, w = f.shape
    return 0.5 * (f.reshape(n, h * w) - p.reshape(n, h * w)).pow(2).sum()


def _gram_t(f):
    b, n, h, w = f.shape
    x = f.reshape(b, n, h * w)
    return x.transpose(1, 2) @ x


def _gram_no_permute(f):
    b, n, h, w = f.shape
    x = f.reshape(b, h * w, n)
    return x.transpose(1, 2) @ x


def _style(f, a, divisor):
    """The sum of squared differences over ``divisor(N, H, W, M)``, as a learner writes the denominator."""
    _, n, h, w = f.shape
    return (gram_ok(f) - a).pow(2).sum() / divisor(n, h, w, h * w)


def _style_g_normalised(f, a, by_m):
    _, n, h, w = f.shape
    m = h * w
    g = gram_ok(f) / (m if by_m else n * m)
    return (g - a).pow(2).sum() / (4 * n**2 * m**2) if by_m else (g - a).pow(2).mean()


def _tv(x, combine):
    return combine(*_d(x))


def _cropped(x):
    return x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]


def _step_no_zero(image, optimizer, loss_fn):
    loss_fn(image).backward()
    optimizer.step()


def _step_zero_between(image, optimizer, loss_fn):
    loss_fn(image).backward()
    optimizer.zero_grad()
    optimizer.step()


def _step_zero_between_kept(image, optimizer, loss_fn):
    loss_fn(image).backward()
    optimizer.zero_grad(set_to_none=False)
    optimizer.step()


def _step_before_backward(image, optimizer, loss_fn):
    optimizer.zero_grad()
    optimizer.step()
    loss_fn(image).backward()


def _step_no_step(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()


def _gram_dot_t(f):
    x = f.reshape(1, f.shape[1], -1)
    with warnings.catch_warnings():  # torch warns that .T on 3-D tensors is deprecated
        warnings.simplefilter("ignore")
        return x @ x.T


def _step_by_hand(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()
    with torch.no_grad():
        image -= 0.1 * image.grad


def _step_twice(image, optimizer, loss_fn):
    step_ok(image, optimizer, loss_fn)
    optimizer.step()


def _step_detached(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image.detach().clone().requires_grad_(True)).backward()
    optimizer.step()


def _step_ascent(image, optimizer, loss_fn):
    optimizer.zero_grad()
    (-loss_fn(image)).backward()
    optimizer.step()


def _step_doubled(image, optimizer, loss_fn):
    optimizer.zero_grad()
    (2 * loss_fn(image)).backward()
    optimizer.step()


def _content_inplace(f, p):
    f -= p
    return 0.5 * (f**2).sum()


def _step_in_place(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()
    image -= 0.1 * image.grad


def _step_item(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(image).item()
    loss.backward()
    optimizer.step()


def _step_no_grad(image, optimizer, loss_fn):
    with torch.no_grad():
        optimizer.zero_grad()
        loss_fn(image).backward()
        optimizer.step()


def _step_closure_no_zero(image, optimizer, loss_fn):
    def closure():
        loss = loss_fn(image)
        loss.backward()
        return loss

    optimizer.step(closure)


def _step_backward_twice(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(image)
    loss.backward(retain_graph=True)
    loss.backward()
    optimizer.step()


def _gram_unpacking(f):  # a Gram matrix that takes 4-D maps only
    b, n, h, w = f.shape
    return gram_ok(f)


def _style_div(divisor):
    return lambda f, a: (gram_ok(f) - a).pow(2).sum() / divisor(*_nm(f), f.shape[2], f.shape[3])


def _tv_per_channel(x):
    dx, dy = _d(x)
    return dx.pow(2).mean((2, 3)).sum() + dy.pow(2).mean((2, 3)).sum()


def _step_closure_called(image, optimizer, loss_fn):
    def closure():
        optimizer.zero_grad()
        loss = loss_fn(image)
        loss.backward()
        return loss

    optimizer.step(closure())


def _step_own_optimizer(image, optimizer, loss_fn):
    mine = torch.optim.SGD([image], lr=0.1)
    mine.zero_grad()
    loss_fn(image).backward()
    mine.step()


def _step_rebound(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()
    image = image - 0.1 * image.grad  # noqa: F841 (the slip: a new local tensor)


def _step_grad_zeroed_between(image, optimizer, loss_fn):
    optimizer.zero_grad()
    loss_fn(image).backward()
    image.grad.zero_()
    optimizer.step()


def _step_no_brackets(image, optimizer, loss_fn, which):
    optimizer.zero_grad() if which != "zero_grad" else optimizer.zero_grad  # noqa: B018 (the slip)
    loss_fn(image).backward()
    optimizer.step() if which != "step" else optimizer.step  # noqa: B018 (the slip)


def _step_and_by_hand(image, optimizer, loss_fn):
    step_ok(image, optimizer, loss_fn)
    with torch.no_grad():
        image -= 0.1 * image.grad


def _step_new_rate(image, optimizer, loss_fn):
    optimizer.param_groups[0]["lr"] = 1.0
    step_ok(image, optimizer, loss_fn)


def _gram_folded(f):  # the batch folded into the positions: one Gram matrix for all the images
    x = f.transpose(0, 1).reshape(f.shape[1], -1)
    return (x @ x.T).unsqueeze(0)


def _tv_per_image(x):
    dx, dy = _d(x)
    return dx.pow(2).mean((1, 2, 3)) + dy.pow(2).mean((1, 2, 3))


def _style_per_image(f, a):
    _, n, h, w = f.shape
    return ((gram_ok(f) - a).pow(2).sum((1, 2)) / (4 * n**2 * (h * w) ** 2)).squeeze(0)


def _style_folded(f, a):
    _, n, h, w = f.shape
    return ((_gram_folded(f) - a).pow(2).sum()) / (4 * n**2 * (h * w) ** 2)


def _gram_in_place(f):
    f /= f.shape[2] * f.shape[3]
    return gram_ok(f)


def _tv_in_place(x):
    x[..., 1:] -= x[..., :-1].clone()
    return x[..., 1:].pow(2).mean()


def _tv_conv(x):  # a difference kernel over all the colour channels at once: no groups=C
    c = x.shape[1]
    k = torch.tensor([[[[-1.0, 1.0]]]], dtype=x.dtype).repeat(c, c, 1, 1)
    dx, dy = torch.nn.functional.conv2d(x, k), torch.nn.functional.conv2d(x, k.transpose(2, 3))
    return dx.pow(2).mean() + dy.pow(2).mean()


WRONG = [
    # exercise 1: the content loss
    (checks.check_content_loss, lambda f, p: (f - p).pow(2).sum(), "off by a constant factor of 2: you multiply by 1 where the formula has 1/2", "content: no 1/2"),
    (checks.check_content_loss, lambda f, p: (f - p).pow(2).mean(), "you multiply by 1/(N*M) where the formula has 1/2: a mean over the N*M entries", "content: mean"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2).mean(), "you multiply by 1/(2*N*M) where the formula has 1/2", "content: half mean"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).abs().sum(), "square the differences", "content: abs"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).sum(), "square the differences", "content: not squared"),
    (checks.check_content_loss, lambda f, p: 0.5 * ((f - p) ^ 2).sum(), "`^` is bitwise XOR", "content: ^ 2"),
    (checks.check_content_loss, lambda f, p: 1.5 * (f - p).pow(2).sum(), "constant factor of 3:", "content: factor 3"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(3).sum(), "wrong values", "content: cubed"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2), "single number", "content: not summed"),
    (checks.check_content_loss, lambda f, p: torch.tensor(0.5 * (f - p).pow(2).sum().item()), "detached", "content: detached"),
    (checks.check_content_loss, lambda f, p: None, "forget `return`", "content: None"),
    (checks.check_content_loss, lambda f, p: (0.5 * (f - p).pow(2).sum()).item(), "expected a torch tensor", "content: float"),
    (checks.check_content_loss, _content_nm, "right on (1, N, H, W) feature maps, but on the 1-D tensors of the hand example below your function raised ValueError", "content: 4-D only"),
    (checks.check_content_loss, lambda f, p: content_ok(f, p) / f.shape[0], "but not on the 1-D tensors of the hand example below", "content: divided by the batch"),
    # exercise 2: the step
    (checks.check_step, _step_no_zero, "gradients accumulate across steps", "step: no zero_grad"),
    (checks.check_step, _step_zero_between, "optimizer.step() found no gradient", "step: zero_grad between"),
    (checks.check_step, _step_zero_between_kept, "optimizer.step() found no gradient", "step: zero_grad(set_to_none=False) between"),
    (checks.check_step, _step_before_backward, "optimizer.step() found no gradient", "step: step before backward"),
    (checks.check_step, _step_no_step, "the image did not change", "step: no step"),
    (checks.check_step, _step_by_hand, "you changed it yourself", "step: update by hand"),
    (checks.check_step, _step_twice, "two calls made 4 optimizer steps", "step: two steps a call"),
    (checks.check_step, _step_detached, "no gradient reached the image", "step: detached"),
    (checks.check_step, _step_ascent, "went up", "step: ascent"),
    (checks.check_step, _step_doubled, "used 2 times the gradient of loss_fn(image)", "step: doubled loss"),
    (checks.check_step, lambda image, optimizer, loss_fn: optimizer.step(lr=1), "your function raised TypeError", "step: raises"),
    # exercise 3: the Gram matrix
    (checks.check_gram_matrix, _gram_t, "transposed", "gram: F^T F"),
    (checks.check_gram_matrix, _gram_no_permute, "reshape(b, H*W, N) without a permute", "gram: no permute"),
    (checks.check_gram_matrix, lambda f: _gram_no_permute(f.view(1, -1, f.shape[1]).view(f.shape)), "without a permute", "gram: view, no permute"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) / (f.shape[2] * f.shape[3]), "you multiply by 1/M where the formula has 1: a mean over the M entries, where the formula sums; the paper's G is unnormalised", "gram: by M"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) / (f.shape[1] * f.shape[2] * f.shape[3]), "you multiply by 1/(N*M) where the formula has 1: you divide by N and M more than the formula", "gram: by N*M"),
    (checks.check_gram_matrix, lambda f: 2 * gram_ok(f), "constant factor of 2:", "gram: factor 2"),
    (checks.check_gram_matrix, lambda f: gram_ok(f)[0], "lost the batch dimension", "gram: no batch"),
    (checks.check_gram_matrix, _gram_dot_t, "transpose the last two, F.transpose(1, 2) or F.mT", "gram: F @ F.T on 3-D"),
    (checks.check_gram_matrix, lambda f: gram_ok(f).detach(), "detached", "gram: detached"),
    (checks.check_gram_matrix, lambda f: f.reshape(1, f.shape[1], -1) @ f.reshape(1, -1, f.shape[1]), "not symmetric", "gram: not symmetric"),
    # exercise 4: one layer's style loss
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 1), "you multiply by 1 where the formula has 1/(4*N²*M²)", "style: no normalisation"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: n**2 * m**2), "constant factor of 4: you multiply by 1/(N²*M²) where", "style: no 4"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 4 * n * m), "you multiply by 1/(4*N*M) where the formula has 1/(4*N²*M²): you divide by N and M less than the formula (N: the number of channels, F.shape[1]; M: H*W, the number of positions)", "style: N M not squared"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).sum() / 4 * f.shape[1] ** 2 * (f.shape[2] * f.shape[3]) ** 2, "operator precedence", "style: sum / 4*N**2*M**2"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 4 * n ^ 2 * m ^ 2), "4*N^2*M^2 is not", "style: 4*N^2*M^2"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 4 * (n ^ 2) * (m ^ 2)), "4*N^2*M^2 is not", "style: 4*(N^2)*(M^2)"),
    (checks.check_style_loss, lambda f, a: ((gram_ok(f) - a) ^ 2).sum(), "`^` is bitwise XOR", "style: (G - A)^2"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 4 * n**2 * h**2), "your M is H, M = H*W", "style: M = H"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 4 * n**2 * w**2), "your M is W, M = H*W", "style: M = W"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).mean(), "you multiply by 1/N² where the formula has 1/(4*N²*M²): a mean over the N² entries", "style: mean"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: n**2 * 4 * n**2 * m**2), "a .mean() where the formula has a sum", "style: mean / 4N²M²"),
    (checks.check_style_loss, lambda f, a: _style(f, a, lambda n, h, w, m: 4 * n**2 * (n * m) ** 2), "M = F.numel()", "style: M = numel"),
    (checks.check_style_loss, lambda f, a: ((gram_ok(f) - a) / (f.shape[1] * f.shape[2] * f.shape[3])).pow(2).mean(), "the 'mean' normalisation of some codebases", "style: the codebases' mean"),
    (checks.check_style_loss, lambda f, a: _style_g_normalised(f, a, by_m=True), "you divide G by M but the target A comes unnormalised", "style: G / M, A not"),
    (checks.check_style_loss, lambda f, a: _style_g_normalised(f, a, by_m=False), "you divide G by N*M but the target A comes unnormalised", "style: G / NM, A not"),
    (checks.check_style_loss, lambda f, a: 1 / 0, "raised ZeroDivisionError", "style: raises"),
    # exercise 5: the total variation
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dx.pow(2).sum() + dy.pow(2).sum()), "summed: take each direction's mean", "tv: summed"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: torch.cat([dx.flatten(), dy.flatten()]).pow(2).mean()), "one mean over both directions", "tv: one mean"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dx.pow(2).sum() + dy.pow(2).sum()) / x.numel(), "divided by the pixel count", "tv: / C*H*W"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dx.pow(2).sum() + dy.pow(2).sum()) / (x.shape[2] * x.shape[3]), "divided by the pixel count", "tv: / H*W"),
    (checks.check_total_variation, lambda x: sum(d.pow(2).mean() for d in _cropped(x)), "cropped to (H-1) x (W-1)", "tv: cropped, a mean each"),
    (checks.check_total_variation, lambda x: (_cropped(x)[0].pow(2) + _cropped(x)[1].pow(2)).mean(), "cropped to (H-1) x (W-1)", "tv: cropped, one mean"),
    (checks.check_total_variation, lambda x: (_cropped(x)[0].pow(2) + _cropped(x)[1].pow(2)).sum(), "cropped to (H-1) x (W-1)", "tv: cropped, summed"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dx.pow(2).mean()), "only the horizontal", "tv: horizontal only"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dy.pow(2).mean()), "only the vertical", "tv: vertical only"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dx.abs().mean() + dy.abs().mean()), "square them", "tv: abs"),
    (checks.check_total_variation, lambda x: (x - x.roll(1, -1)).pow(2).mean() + (x - x.roll(1, -2)).pow(2).mean(), "wraps around", "tv: roll"),
    (checks.check_total_variation, lambda x: (x[:, 1:] - x[:, :-1]).pow(2).mean() + (x[..., 1:] - x[..., :-1]).pow(2).mean(), "differences between channels", "tv: channels, not H"),
    (checks.check_total_variation, lambda x: 2 * tv_ok(x) + 1e-3, "wrong values (no normalisation or known slip of the formula gives them): on images of shape (1, 3, 5, 7) (C=3, H=5, W=7)", "tv: not a factor"),
    (checks.check_total_variation, lambda x: _tv(x, lambda dx, dy: dx.pow(2).mean(-1)), "one number", "tv: not reduced"),
    (checks.check_total_variation, lambda x: 2 * tv_ok(x), "constant factor of 2:", "tv: factor 2"),
    (checks.check_total_variation, lambda x: tv_ok(x).detach(), "detached", "tv: detached"),
    # attempts named by what they did, not looked up: the normalisation read from six sizes, structural variants,
    # and exceptions translated into cause and fix (the original under it)
    (checks.check_content_loss, lambda f, p: (f - p).pow(2).sum() / 2 / f.numel(), "1/2 times a mean over the N*M entries", "content: half the mean, by numel"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2).sum() / f.shape[1], "you divide by N more than the formula (N: the number of channels", "content: / N"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2).sum() / f.shape[2], "1/(2*H) where the formula has 1/2: the formula has no H or W", "content: / H"),
    (checks.check_content_loss, lambda f, p: torch.norm(f - p), "the square root of the sum (torch.norm?)", "content: norm"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f**2 - p**2).sum(), "F² - P² is not (F - P)²", "content: F² - P²"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f.sum() - p.sum()) ** 2, "you square the sum", "content: squared sum"),
    (checks.check_content_loss, lambda f, p: 0.5 * f.pow(2).sum(), "you ignore the target P", "content: no target"),
    (checks.check_content_loss, lambda f, p: 0 * f.sum(), "0 on every input", "content: always 0"),
    (checks.check_content_loss, _content_inplace, "an in-place operation (-=, +=, *=, .sub_()) on a tensor that requires grad", "content: F -= P"),
    (checks.check_step, _step_in_place, "an in-place operation", "step: image -= lr * grad"),
    (checks.check_step, _step_item, ".item() or float() made the loss a Python number before backward()", "step: .item() before backward"),
    (checks.check_step, _step_no_grad, "computed under torch.no_grad()", "step: under no_grad"),
    (checks.check_step, _step_closure_no_zero, "gradients accumulate across steps", "step: closure without zero_grad"),
    (checks.check_step, lambda image, optimizer, loss_fn: optimizer.step(lambda: loss_fn(image)), "no gradient reached the image", "step: closure without backward"),
    (checks.check_step, _step_backward_twice, "used 2 times the gradient", "step: backward twice"),
    (checks.check_gram_matrix, lambda f: torch.matmul(f, f), "torch.matmul(f, f) multiplies each H x W map by itself", "gram: matmul(f, f)"),
    (checks.check_gram_matrix, lambda f: f @ f.transpose(2, 3), "you multiplied each H x W map by its transpose", "gram: per map"),
    (checks.check_gram_matrix, lambda f: (_x(f) * _x(f)).sum(-1), "the diagonal of G", "gram: diagonal only"),
    (checks.check_gram_matrix, lambda f: (_x(f) - _x(f).mean(-1, keepdim=True)) @ (_x(f) - _x(f).mean(-1, keepdim=True)).mT, "a covariance", "gram: centred"),
    (checks.check_gram_matrix, lambda f: gram_ok(f).sqrt(), "not its square root", "gram: sqrt"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) / f.shape[2], "the formula has 1: the formula has no H or W", "gram: / H"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - _gram_unpacking(a)).pow(2).sum(), "A already is a Gram matrix: compare gram(F) with A", "style: gram(A), raising"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - _x(a) @ _x(a).mT).pow(2).sum() / (4 * _nm(f)[0] ** 2 * _nm(f)[1] ** 2), "not with gram(A)", "style: gram(A)"),
    (checks.check_style_loss, lambda f, a: (_x(f).mT @ _x(f) - a).pow(2).sum(), "G and A have different shapes", "style: F^T F"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).sum() / (4 * f.shape[0] ** 2 * _nm(f)[1] ** 2), "you divide by N² less than the formula", "style: N = F.shape[0]"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: 4 * n**2 * h * w**2), "H and W to different powers", "style: 4*N**2*H*W**2"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: 4 * n**2 * m), "you divide by M less than the formula", "style: M not squared"),
    (checks.check_style_loss, lambda f, a: torch.norm(gram_ok(f) - a) / (4 * _nm(f)[0] ** 2 * _nm(f)[1] ** 2), "the square root of the sum", "style: norm"),
    (checks.check_style_loss, lambda f, a: gram_ok(f).pow(2).sum() / (4 * _nm(f)[0] ** 2 * _nm(f)[1] ** 2), "you ignore the target A", "style: no target"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).abs().sum() / (4 * _nm(f)[0] ** 2 * _nm(f)[1] ** 2), "square the differences", "style: abs"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) / _nm(f)[1] - a / _nm(f)[1]).pow(2).sum() / (4 * _nm(f)[0] ** 2 * _nm(f)[1] ** 2), "you divide by M² more than the formula", "style: G and A both / M"),
    (checks.check_total_variation, lambda x: (torch.diff(x, dim=3) ** 2).mean() + (torch.diff(x, dim=0) ** 2).mean(), "NaN", "tv: batch axis"),
    (checks.check_total_variation, lambda x: (_d(x)[0][..., :-1, :] ** 2 + _d(x)[1][..., :, :-1] ** 2).sqrt().mean(), "the isotropic TV", "tv: isotropic"),
    (checks.check_total_variation, lambda x: 2 * _d(x)[0].pow(2).mean(), "only the horizontal neighbours: add the vertical differences too, each direction's mean; and 2 times that", "tv: horizontal twice"),
    (checks.check_total_variation, lambda x: _d(x)[0].pow(2).mean() + _d(x)[1].pow(2).mean() * 0.5 + _d(x)[0].pow(2).mean() * 0.5, "wrong values (no normalisation", "tv: other values"),
    (checks.check_total_variation, lambda x: (_d(x)[0].pow(2) + _d(x)[1].pow(2)).mean(), "dx (.., H, W-1) and dy (.., H-1, W) have different shapes", "tv: dx + dy"),
    (checks.check_total_variation, _tv_per_channel, "per-channel means added over the C channels", "tv: per channel"),
    (checks.check_total_variation, lambda x: tv_ok(x).sqrt(), "the square root of the total variation", "tv: sqrt"),
    (checks.check_total_variation, lambda x: _d(x)[0].abs().sum() + _d(x)[1].abs().sum(), "absolute differences, summed", "tv: abs summed"),
    (checks.check_step, _step_closure_called, "optimizer.step() takes nothing or a function (a closure), not a loss", "step: step(closure())"),
    (checks.check_step, lambda image, optimizer, loss_fn: loss_fn.backward(), "loss_fn is the function: call it on the image", "step: loss_fn.backward()"),
    (checks.check_step, lambda image, optimizer, loss_fn: _step_no_brackets(image, optimizer, loss_fn, "zero_grad"), "call optimizer.zero_grad() (with the brackets)", "step: zero_grad without ()"),
    (checks.check_step, lambda image, optimizer, loss_fn: _step_no_brackets(image, optimizer, loss_fn, "step"), "call optimizer.step() (with the brackets)", "step: step without ()"),
    (checks.check_step, lambda image, optimizer, loss_fn: image.grad.zero_(), "image.grad is None before the first backward()", "step: image.grad.zero_() first"),
    (checks.check_step, _step_own_optimizer, "not by `optimizer`", "step: an optimiser of its own"),
    (checks.check_step, _step_rebound, "`image = ...` makes a new tensor", "step: image = image - lr * grad"),
    (checks.check_step, _step_grad_zeroed_between, "(or image.grad.zero_()) between", "step: image.grad.zero_() between"),
    (checks.check_content_loss, lambda f, p: 0.5 * ((f.numpy() - p.numpy()) ** 2).sum(), ".numpy() leaves the graph", "content: numpy"),
    (checks.check_content_loss, lambda f, p: (0.5 * (f - p)).pow(2).sum(), "squares the 1/2 too", "content: (0.5 (F - P))²"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f @ p).sum(), "a matrix product (@, torch.matmul) where the formula works entry by entry", "content: F @ P"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) / gram_ok(f).sum(), "you divide G by its own sum", "gram: / its sum"),
    (checks.check_gram_matrix, lambda f: (lambda x: x @ x.mT)(torch.nn.functional.normalize(_x(f), dim=-1)), "a cosine similarity", "gram: cosine"),
    (checks.check_gram_matrix, lambda f: (lambda x: x @ x.T)(f.flatten(1)), "f.flatten(2), not f.flatten(1)", "gram: flatten(1)"),
    (checks.check_gram_matrix, lambda f: torch.cov(_x(f)[0]).unsqueeze(0), "torch.cov is a covariance", "gram: torch.cov"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: 4 * n**2 + m**2), "a + where the formula multiplies", "style: 4*N**2 + M**2"),
    (checks.check_total_variation, lambda x: torch.sqrt(_d(x)[0][..., :-1, :] ** 2 + _d(x)[1][..., :, :-1] ** 2 + 1e-8).mean(), "the isotropic TV", "tv: isotropic with eps"),
    (checks.check_total_variation, lambda x: (x[..., 2:] - x[..., :-2]).pow(2).mean() + (x[..., 2:, :] - x[..., :-2, :]).pow(2).mean(), "two pixels apart", "tv: two apart"),
    (checks.check_total_variation, lambda x: _d(x)[0].pow(2).sum() / _d(x)[1].numel() + _d(x)[1].pow(2).sum() / _d(x)[0].numel(), "the other's number of pairs", "tv: counts swapped"),
    (checks.check_total_variation, lambda x: (_d(x)[0].pow(2).sum() + _d(x)[1].pow(2).sum()) / _d(x)[0].numel(), "divided by dx's number of pairs", "tv: both by dx's count"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: 4 * 512**2 * m**2), "(a size written in as a number? take the sizes from F.shape): you divide by N² less", "style: N written as 512"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - gram_ok(f)).pow(2).sum(), "0 on every input", "style: always 0"),
    (checks.check_step, _step_and_by_hand, "the image moved more than optimizer.step() moved it", "step: a step and a change by hand"),
    (checks.check_step, _step_new_rate, "a new learning rate", "step: a new learning rate"),
    (checks.check_content_loss, lambda f, p: 0.5 * torch.linalg.norm(f - p, "fro") ** 2, "torch.linalg.norm(x, 'fro') takes 1-D or 2-D tensors only", "content: fro norm of 4-D"),
    (checks.check_content_loss, lambda f, p: 0.5 * torch.dot(f - p, f - p), "torch.dot takes 1-D tensors only", "content: dot of 4-D"),
    (checks.check_gram_matrix, lambda f: _x(f) @ _x(f).t(), ".t() works on 2-D tensors only", "gram: .t() on 3-D"),
    (checks.check_gram_matrix, lambda f: (lambda x: x.mT @ x)(f.permute(0, 2, 3, 1).transpose(1, 2).view(1, -1, f.shape[1])), "use .reshape()", "gram: view after a permute"),
    (checks.check_gram_matrix, lambda f: torch.einsum("ik,jk->ij", _x(f), _x(f)), "einsum wants one subscript per dimension", "gram: einsum of 2 subscripts"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).sum() / 4 / _nm(f)[0] ** 2 * _nm(f)[1] ** 2, "you multiply by a size the formula divides by (operator precedence?", "style: / 4 / N**2 * M**2"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: (2 * n * m) ^ 2), "`^` is bitwise XOR", "style: (2*N*M)^2"),
    (checks.check_total_variation, lambda x: ((x[..., 1:, 1:] - x[..., 1:, :-1]) ** 2 + (x[..., 1:, 1:] - x[..., :-1, 1:]) ** 2).mean(), "cropped to (H-1) x (W-1)", "tv: cropped from the other corner"),
    (checks.check_total_variation, lambda x: (_cropped(x)[0] ** 2 + _cropped(x)[1] ** 2).pow(1.25).sum(), "to the power 1.25", "tv: power 1.25"),
    (checks.check_total_variation, lambda x: _d(x)[0].norm() + _d(x)[1].norm(), "the norms of dx and dy", "tv: norms"),
    (checks.check_total_variation, lambda x: _d(x)[0].mean() ** 2 + _d(x)[1].mean() ** 2, "the mean difference, squared", "tv: mean, then squared"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: 4 * n * m**2), "1/(4*N*M²) where the formula has 1/(4*N²*M²): you divide by N less", "style: 1/(4 N M²), not 'missing the 4'"),
    (checks.check_style_loss, _style_div(lambda n, m, h, w: 4 * n**2 * (h + w) ** 2), "not H + W", "style: M = H + W"),

    # a batch of two: each image its own Gram matrix, one number for a loss; exceptions with a known cause;
    # diagnoses that name the slip, in the exercise's notation
    (checks.check_gram_matrix, _gram_folded, "your Gram mixes the images of a batch (one Gram matrix for the whole batch on 2 images): reshape to (B, N, H*W)", "gram: batch folded into the positions"),
    (checks.check_gram_matrix, lambda f: torch.einsum("bnhw,bmhw->nm", f, f).unsqueeze(0), "your Gram mixes the images of a batch", "gram: einsum summing the batch"),
    (checks.check_total_variation, _tv_per_image, "one number expected, got one per image (shape (2,))", "tv: one per image"),
    (checks.check_total_variation, lambda x: _tv_per_image(x).sum(), "the images' TVs added on a batch of 2", "tv: images' TVs added"),
    (checks.check_style_loss, _style_per_image, "one number expected, got one per image", "style: one per image"),
    (checks.check_style_loss, _style_folded, "your G mixes the images of a batch", "style: batch folded into G"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2).sum(tuple(range(1, f.dim()))) if f.dim() == 4 and f.shape[0] > 1 else content_ok(f, p), "one number expected, got one per image", "content: one per image on a batch"),
    (checks.check_gram_matrix, lambda f: torch.mm(_x(f), _x(f).mT), "torch.mm multiplies 2-D matrices only: for batched (b, N, H*W) tensors use torch.bmm or @", "gram: torch.mm on 3-D"),
    (checks.check_gram_matrix, lambda f: gram_ok(f.resize_(1, f.shape[1], f.shape[2] * f.shape[3], 1)), "resize_() changes a tensor that requires grad in place: reshape it into a new tensor", "gram: resize_"),
    (checks.check_step, lambda image, optimizer, loss_fn: optimizer.step(loss_fn), "optimizer.step(closure) calls closure() with no arguments, and loss_fn takes the image", "step: loss_fn as the closure"),
    (checks.check_content_loss, lambda f, p: 0.5 * (f - p).pow(2).sum, "you wrote .sum instead of .sum()", "content: .sum without ()"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) - a).pow(2).sum / 4, "you wrote .sum instead of .sum()", "style: .sum / 4"),
    (checks.check_content_loss, lambda f, p: 1 // 2 * (f - p).pow(2).sum(), "integer division (1 // 2 == 0: write 0.5 or 1 / 2)", "content: 1 // 2"),
    (checks.check_total_variation, lambda x: (x[..., 1:-1] - x[..., :-2]).pow(2).mean() + _d(x)[1].pow(2).mean(), "a slice off by one (1:-1 or :-2?) leaves out the last horizontal pair", "tv: a pair dropped"),
    (checks.check_total_variation, lambda x: _d(x)[0].pow(2).mean() + (x[..., 2:, :] - x[..., 1:-1, :]).pow(2).mean(), "leaves out the first vertical pair", "tv: the first vertical pair dropped"),
    (checks.check_total_variation, lambda x: (x[..., 1:-1] - x[..., :-2]).pow(2).mean(), "NaN only where H or W is 2 ((1, 6, 11, 2), (1, 11, 3, 2)): a slice off by one", "tv: a pair dropped, one direction only"),
    (checks.check_total_variation, lambda x: (x[..., 1:] - x[..., :-2]).pow(2).mean() + _d(x)[1].pow(2).mean(), "slices of different lengths (off by one", "tv: slices of different lengths"),
    (checks.check_total_variation, lambda x: _d(x)[0].pow(2).mean().sqrt() + _d(x)[1].pow(2).mean().sqrt(), "the square root of each direction's mean", "tv: sqrt of each mean"),
    (checks.check_total_variation, _tv_conv, "a conv2d difference kernel without groups=3", "tv: conv2d without groups"),
    (checks.check_gram_matrix, lambda f: gram_ok(f) + gram_ok(f).mT, "G + G^T doubles a symmetric G", "gram: G + G^T"),
    (checks.check_style_loss, lambda f, a: (gram_ok(f) ** 2 - a**2).sum() / (4 * _nm(f)[0] ** 2 * _nm(f)[1] ** 2), "G² - A² is not (G - A)²", "style: G² - A²"),
    (checks.check_gram_matrix, _gram_in_place, "compute a new tensor, x = F.reshape(b, N, H*W) / M, not F /= M", "gram: F /= M in place"),
    (checks.check_total_variation, _tv_in_place, "compute a new tensor, dx = x[..., 1:] - x[..., :-1]", "tv: in place"),
    (checks.check_total_variation, lambda x: 3 * _tv_conv_rgb(x), "per-channel means added over the C channels", "tv: RGB only, per channel"),
    (checks.check_total_variation, lambda x: 2 * _tv_conv_rgb(x), "off by a constant factor of 2", "tv: RGB only, factor 2"),
]


@pytest.mark.parametrize("check,answer,message", [w[:3] for w in WRONG], ids=[w[3] for w in WRONG])
def test_typical_wrong_answers_are_caught_with_the_right_message(check, answer, message):
    with pytest.raises(CheckFailed, match=re.escape(message)) as caught:
        check(answer)
    _one_line_and_the_original(caught.value)


def _one_line_and_the_original(failed: CheckFailed) -> None:
    """A verdict is one line; a translated exception adds the original text, and only it, on a second."""
    first, *rest = str(failed).splitlines()
    assert first and len(rest) <= 1 and all(line.startswith("  (") and line.endswith(")") for line in rest)


# --- the way on: a stuck learner's one-liner, the instructor's switch, an unwritten stub ---

EXERCISES = [("content_loss", checks.check_content_loss), ("gram_matrix", checks.check_gram_matrix),
             ("style_loss", checks.check_style_loss), ("total_variation", checks.check_total_variation),
             ("step", checks.check_step)]


@pytest.mark.parametrize("name,check", EXERCISES)
def test_a_stuck_learner_puts_the_reference_in_place_of_one_exercise(name, check, monkeypatch, capsys):
    monkeypatch.delenv("NST_SOLUTIONS", raising=False)
    check(checks.solution(name))
    said, verdict = capsys.readouterr().out.splitlines()
    assert said == f"{name}: the reference solution from nst_helpers/checks, not yours"
    assert verdict.endswith(": correct")


def test_an_unknown_exercise_name_is_one_line_listing_the_known_ones():
    for get in (checks.solution, lambda name: checks.exercise(name, print)):
        with pytest.raises(NSTError, match="^no exercise 'tv'; one of content_loss, gram_matrix, style_loss, "
                                           "total_variation, step$"):
            get("tv")


@pytest.mark.parametrize("name,check", EXERCISES)
def test_the_instructors_switch_fills_in_solutions_that_pass(name, check, monkeypatch, capsys):
    def stub(*args):
        return None

    monkeypatch.setenv("NST_SOLUTIONS", "0")
    assert inspect.unwrap(checks.exercise(name, stub)) is stub
    with pytest.raises(checks.CheckFailed):
        check(stub)
    monkeypatch.setenv("NST_SOLUTIONS", "1")
    check(checks.exercise(name, stub))
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check for _, check in EXERCISES])
def test_an_unwritten_stub_is_named_and_shown_in_one_line(check):
    def stub(*args):
        raise NotImplementedError("write it here")

    with pytest.raises(checks.CheckFailed, match="not written yet") as caught:
        check(stub)
    shown = caught.value._render_traceback_()  # what Jupyter shows instead of a traceback
    assert len(shown) == 1 and "not written yet" in shown[0]


def test_the_tv_exercise_agrees_with_the_package_default_that_objective_uses():
    x = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(checks.SOLUTIONS["total_variation"](x), total_variation(x))
    assert torch.allclose(tv_ok(x), total_variation(x))


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


# --- what the checks accept must work in the cells after them; what they run on must tell sizes apart ---


def _content_f64(f, p):
    return 0.5 * ((f.double() - p.double()) ** 2).sum()


def _gram_f64(f):
    return gram_ok(f.double())


def _style_f64(f, a):
    return style_ok(f.double(), a.double())


def _tv_f64(x):
    return tv_ok(x.double()).reshape(1)  # one element, not 0-d: the check accepts it


def test_a_float64_answer_passes_and_works_in_the_cells_after_its_check(monkeypatch, capsys):
    monkeypatch.setenv("NST_SOLUTIONS", "0")
    my_content_loss, gram = checks.exercise("content_loss", _content_f64), checks.exercise("gram_matrix", _gram_f64)
    my_layer_loss, my_tv = checks.exercise("style_loss", _style_f64), checks.exercise("total_variation", _tv_f64)
    for check, mine in [(checks.check_content_loss, my_content_loss), (checks.check_gram_matrix, gram),
                        (checks.check_style_loss, my_layer_loss), (checks.check_total_variation, my_tv)]:
        check(mine)
    generator = torch.Generator().manual_seed(0)
    features, target = torch.rand(1, 8, 6, 5, generator=generator), torch.rand(1, 8, 6, 5, generator=generator)
    # notebook 2: the loss beside the package's; notebook 3: the Gram matrices and the layer loss beside the package's
    assert torch.allclose(my_content_loss(features, target), content_loss(features, target), rtol=1e-5)
    assert torch.allclose(gram(features), gram_matrix(features), rtol=1e-5)
    assert torch.allclose(my_layer_loss(features, gram(target)), style_ok(features, gram_matrix(target)), rtol=1e-4)
    # notebook 4: gamma * my_tv(x) in a float32 objective, back-propagated to a float32 image
    x = torch.rand(1, 3, 6, 5, generator=generator, requires_grad=True)
    (content_loss(x, x.detach() / 2) + 1e3 * my_tv(x)).backward()
    assert x.grad.dtype == torch.float32 and my_tv(x).dtype == torch.float32 and my_tv(x).dim() == 0


@pytest.mark.parametrize("value,on", [("1", True), ("true", True), ("YES", True), ("On", True), ("0", False),
                                      ("false", False), ("No", False), ("OFF", False), ("", False)])
def test_the_instructors_switch_reads_the_usual_words(value, on, monkeypatch):
    monkeypatch.setenv("NST_SOLUTIONS", value)
    assert checks.solutions_on() is on
    assert (checks.exercise("gram_matrix", gram_ok) is checks.SOLUTIONS["gram_matrix"]) is on


def test_the_instructors_switch_refuses_other_words_in_one_line(monkeypatch):
    monkeypatch.setenv("NST_SOLUTIONS", "maybe")
    with pytest.raises(NSTError, match=r"^NST_SOLUTIONS='maybe' is neither on \(1, true, yes, on\) nor off \(0, "
                                       r"false, no, off, or unset\)$"):
        checks.exercise("step", step_ok)


def test_a_translated_exception_keeps_the_original_text_under_the_cause():
    with pytest.raises(CheckFailed) as caught:
        checks.check_content_loss(_content_inplace)
    cause, original = str(caught.value).splitlines()
    assert cause.startswith("content loss: an in-place operation") and "F -= P" in cause
    assert original == "  (RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.)"
    assert caught.value._render_traceback_()[1] == original  # Jupyter shows both lines, no traceback


def test_the_checks_sizes_tell_n_m_and_constants_apart():
    sizes = torch.tensor([shape[1:] for shape in SHAPES], dtype=torch.float64)
    assert all(len(set(shape[1:])) == 3 for shape in SHAPES)  # N, H, W distinct in each input
    design = torch.cat([torch.ones(len(SHAPES), 1, dtype=torch.float64), sizes.log()], 1)
    assert torch.linalg.matrix_rank(design) == 4 and len(SHAPES) >= 6  # a constant and three exponents, over-determined
    for n, h, w in sizes.tolist():  # no size is a power of another (so N, M, N², 2 and 4 differ on some input)
        assert all(a == b or math.log(a) / math.log(b) not in (0.5, 2, 3) for a in (n, h, w) for b in (n, h, w))


def test_the_checks_package_is_installed_with_the_rest():
    root = pathlib.Path(checks.__file__).parents[2]
    assert "nst_helpers.checks" in tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
