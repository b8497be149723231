# %% [markdown]
# # Cells for issue 17 (not a notebook of the series)
#
# Two groups of cells, to be copied into the notebooks. Each group comes after a **context** cell that stands in
# for what the notebook has already defined at that point; the context cells are not to be copied. Run the whole
# file as a script (`NST_PROFILE=quick python cells_issue17.py`) to check the cells; the context cells print how
# long each group took.
#
# - Group A, notebook 4: replaces the "Other networks" section (its markdown, code and "What to notice" cells).
# - Group B, notebook 5: a new section, "What does training add?", before the Checks; its last cell goes at the
#   end of notebook 5's Checks cell, before its final print.

# %%
# CONTEXT (notebook 4, not to be copied): what the notebook defines before "Other networks".
import time

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402

from nst_helpers import (  # noqa: E402
    STYLE_LAYERS,
    VGG,
    NSTError,
    Objective,
    content_loss,
    images_dir,
    initial_image,
    load_image,
    optimize_image,
    profile,
    show_images,
    style_loss,
    style_weight_for_ratio,
    summary,
)

P = profile()
print(P)
vgg = VGG("vgg19", weights="caffe", pooling="avg")
IMAGES = images_dir()
small, steps = P.size * 3 // 4, P.steps // 2
content_s = load_image(IMAGES / "content" / "coffee.png", size=small)
style_s = load_image(IMAGES / "style" / "swirls.png", size=small)
reference = Objective(vgg, content_s, style_s)
base = optimize_image(Objective(vgg, content_s, style_s, content_layers=["relu4_2"], style_layers=STYLE_LAYERS,
                                style_weight=style_weight_for_ratio(1e-3, *content_s.shape[-2:])),
                      init="content", steps=steps, progress=False)


def sci(x: float) -> str:
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


@torch.no_grad()
def losses_of(objective: Objective, image: torch.Tensor) -> tuple[float, float]:
    feats = vgg(image, ["relu4_2", *STYLE_LAYERS])
    return (content_loss(feats["relu4_2"], objective.content_targets["relu4_2"]).item(),
            style_loss(feats, objective.style_targets).item())


def losses_title(image: torch.Tensor) -> str:
    lc, ls = losses_of(reference, image)
    return f"Lc {sci(lc)}, Ls {sci(ls)}"


group_start, group_cpu = time.perf_counter(), time.process_time()

# %% [markdown]
# ### Other networks
#
# The method needs a network whose features describe images, not VGG19 in particular. `Backbone(arch, weights)`
# gives the same interface for torchvision's VGG16, VGG19, ResNet-50 and GoogLeNet, each with layer names from its
# own paper (`backbone.layer_names`; ResNet's stem and bottleneck blocks `res2a` ... `res5c`, GoogLeNet's
# `inception_3a` ... `inception_5b`) and its own default content and style layers (`backbone.content_layers`,
# `backbone.style_layers`: for ResNet-50 those of Wang et al. 2021, the last block of each stage). `VGG` is its VGG
# case. Weights: `"caffe"` (VGG19's original, bundled), `"torchvision"` (trained on ImageNet, read from torch.hub's
# cache: `nst weights fetch vgg16 resnet50 googlenet` fills it once, online), or `"random"`, Kaiming-initialised
# from a fixed seed: the architecture without any training, always there.
#
# Each network's features have their own scale, so $\alpha/\beta = 10^{-3}$ means something else in each. To run
# *the same* transfer, each network's $\beta$ is set so that the photo's style term, against the painting's content
# term, weighs what it weighs for VGG19 Caffe at the paper's ratio. Every title gives the losses measured with VGG19
# Caffe, as elsewhere in this notebook. A network whose weights are not here prints one line saying how to get
# them, and the notebook goes on.

# %%
from nst_helpers import Backbone  # noqa: E402  (move into the notebook's first import)

painting_s = initial_image(reference, "style")  # the painting at the photo's size


def balance(objective: Objective) -> float:
    # The photo's style term over the painting's content term: how much the objective weighs style against content.
    with torch.no_grad():
        return objective(content_s)["style"].item() / objective(painting_s)["content"].item()


def network_run(name: str, net: Backbone):
    # The base run with `net`: its own layers, and beta balanced as the paper's ratio balances VGG19 Caffe. Random
    # weights with Adam: L-BFGS, one evaluation per step and no line search, diverges on some random draws.
    unit = Objective(net, content_s, style_s, net.content_layers, net.style_layers, style_weight=1.0)
    objective = Objective(net, content_s, style_s, net.content_layers, net.style_layers,
                          style_weight=balance(reference) / balance(unit))
    optimizer = "adam" if net.weights == "random" else "lbfgs"
    result = optimize_image(objective, init="content", steps=steps, optimizer=optimizer, progress=False)
    summary(name, result)
    return result


NETWORKS = {  # offline, only the first two are there
    "VGG19 Caffe": lambda: vgg,
    "VGG19 random (Adam)": lambda: Backbone("vgg19", weights="random"),
    "VGG16": lambda: Backbone("vgg16", weights="torchvision"),  # torchvision's weights from here on
    "ResNet-50": lambda: Backbone("resnet50", weights="torchvision"),
    "ResNet-50 softmax": lambda: Backbone("resnet50", weights="torchvision", softmax=1.0),
    "GoogLeNet": lambda: Backbone("googlenet", weights="torchvision"),
}
network_runs = {}
for name, make in NETWORKS.items():
    try:
        net = make()
    except NSTError as err:
        print(f"{name}: not here: {err}")
        continue
    network_runs[name] = base if net is vgg else network_run(name, net)  # VGG19 Caffe's is the base run
fig = show_images([r.image for r in network_runs.values()],
                  [f"{name}\n{losses_title(r.image)}" for name, r in network_runs.items()], size=1.7)

# %% [markdown]
# **What to notice.** With random weights the transfer still changes the photo: it takes the painting's colours and
# a fine, grainy texture, but not its brush strokes, and its style loss (measured with the trained network) stays
# far above the trained network's. Random filters respond to colour and to local contrast at every scale; what they
# lack is the trained network's vocabulary of edges, curves and textures, which is what the Gram matrices of the
# trained network describe (notebook 5 takes this further).
#
# With torchvision's weights (once fetched), VGG16 gives results close to VGG19's: the same kind of network, trained
# on the same task. ResNet-50 transfers worse, with less of the painting's texture and blotches of colour: Wang et
# al. (CVPR 2021, *Rethinking and Improving the Robustness of Image Style Transfer*) measured that the activations
# of its deeper layers are *peaky*, a few large values in a few channels with low entropy, so its Gram matrices are
# dominated by a handful of entries and the optimisation matches those and little else. VGG's features are spread
# more evenly. Their remedy is a softmax over each layer's activations, $\sigma(F / T)$, which raises the entropy:
# `Backbone(..., softmax=T)` ("ResNet-50 softmax"; they use $T = 1$), and with it ResNet transfers about as
# well as VGG. GoogLeNet falls in between. (Kaiming's initialisation has no such peaks, which is one more reason why
# the random VGG19 transfers at all.)

# %%
print(f"group A (notebook 4, Other networks): {time.perf_counter() - group_start:.0f} s "
      f"({time.process_time() - group_cpu:.0f} s CPU) at profile {P.name!r}")

# %%
# CONTEXT (notebook 5, not to be copied): what the notebook defines before the new section.
SIZE, STEPS = P.size * 3 // 4, P.steps // 2
vgg = VGG("vgg19", weights="caffe", pooling="avg", device=P.device)


def load(kind: str, name: str, size: int = SIZE) -> torch.Tensor:
    return load_image(IMAGES / kind / f"{name}.png", size=size)


content, style = load("content", "chelsea"), load("style", "swirls")
paper = Objective(vgg, content, style)
group_start, group_cpu = time.perf_counter(), time.process_time()

# %% [markdown]
# ## What does training add? VGG19 with random weights
#
# Every network in this series was trained to recognise objects; nothing in the method says it has to be.
# Ustyuzhaninov, Brendel, Gatys & Bethge (2017) synthesised textures with a single layer of *random* filters, and He,
# Wang & Hopcroft (2016) made textures and style transfers with random multi-scale networks: random features
# already capture much of a texture. Here is the test with VGG19's architecture and random weights
# (`Backbone("vgg19", weights="random")`: Kaiming-initialised from a fixed seed, always there offline), beside the
# trained network, on the texture of notebook 3 and on the transfer of notebook 4. All four runs use Adam, as
# notebook 3 does for textures: the package's L-BFGS, one evaluation per step and no line search, diverges on some
# random draws of the weights.
#
# **Who judges?** Each network's loss says how close a result is *in that network's features*, and each
# optimisation lowers its own. So each result is measured by two judges: the trained VGG19, layer by layer, and a
# second random VGG19 (another seed), which made none of the results. The measure is notebook 3's: each layer's Gram
# error relative to the size of the painting's Gram matrix (0 is a perfect match, about 0.5 to 1 is noise).

# %%
from nst_helpers import Backbone, gram_matrix, style_layer_loss, style_loss  # noqa: E402, F811  (to the first import)

random_vgg = Backbone("vgg19", weights="random", pooling="avg", device=P.device)  # seed 0
other_random = Backbone("vgg19", weights="random", pooling="avg", device=P.device, seed=1)  # another draw: a judge


def texture_objective(net: Backbone, image: torch.Tensor) -> Objective:
    # Notebook 3's texture objective in `net`'s features: the five style layers, each divided by the size of its
    # target E_l(0), so that each term is a relative Gram error and the loss their mean.
    with torch.no_grad():
        feats = net(image, STYLE_LAYERS)
    size = {k: style_layer_loss(torch.zeros_like(gram_matrix(f)), gram_matrix(f), f.shape[1], f.shape[2] * f.shape[3])
            for k, f in feats.items()}
    weights = {k: 1 / (len(size) * size[k].item()) for k in size}
    return Objective(net, style=image, style_layers=weights, style_weight=1.0)


textures = {}
for name, net in {"trained": vgg, "random": random_vgg}.items():  # notebook 3's settings: Adam, step 0.1, from noise
    textures[name] = optimize_image(texture_objective(net, style), init="noise", seed=0, steps=STEPS,
                                    optimizer="adam", lr=0.1, progress=False)
    summary(f"texture with {name} weights", textures[name])
judges = {"trained VGG19": texture_objective(vgg, style),
          "another random VGG19": texture_objective(other_random, style)}
noise = initial_image(judges["trained VGG19"], "noise", seed=0)  # where both runs started


@torch.no_grad()
def layer_errors(judge: Objective, image: torch.Tensor) -> dict[str, float]:
    # Each layer's relative Gram error in the judge's features.
    feats = judge.vgg(image, STYLE_LAYERS)
    return {k: style_loss(feats, {k: judge.style_targets[k]}, {k: len(STYLE_LAYERS) * judge.style_layer_weights[k]})
            .item() for k in STYLE_LAYERS}


rows = {"the noise they started from": noise, "texture, trained weights": textures["trained"].image,
        "texture, random weights": textures["random"].image}
errors = {row: {name: layer_errors(judge, image) for name, judge in judges.items()} for row, image in rows.items()}
print(f"{'judged by the trained VGG19:':30s}" + "".join(f"{k:>9s}" for k in STYLE_LAYERS) + "   another random VGG19")
for row, error in errors.items():
    by_trained, by_other = error.values()
    mean_other = sum(by_other.values()) / len(by_other)
    print(f"{row:30s}" + "".join(f"{by_trained[k]:9.3f}" for k in STYLE_LAYERS) + f"   {mean_other:9.3f} (mean)")

# The transfer: the paper's objective in the random network's features (the same layer names: the same architecture),
# its style weight set so that style and content weigh as they do for the trained network at the paper's ratio.
painting = initial_image(paper, "style")  # the painting at the photo's size


def balance(objective: Objective) -> float:  # noqa: F811  (notebook 4's, in notebook 5)
    with torch.no_grad():  # the photo's style term over the painting's content term
        return objective(content)["style"].item() / objective(painting)["content"].item()


unit = Objective(random_vgg, content, style, style_weight=1.0)
transfer_objectives = {"trained": paper,
                       "random": Objective(random_vgg, content, style, style_weight=balance(paper) / balance(unit))}
transfers = {}
for name, objective in transfer_objectives.items():
    transfers[name] = optimize_image(objective, init="content", steps=STEPS, optimizer="adam", progress=False)
    summary(f"transfer with {name} weights", transfers[name])
with torch.no_grad():  # the paper's style loss: the trained judge
    style_of = {"photo": paper(content)["style"].item(),
                **{name: paper(result.image)["style"].item() for name, result in transfers.items()}}
panels = {"style": style, "texture, trained weights": textures["trained"].image,
          "texture, random weights": textures["random"].image, "content": content}
for name, result in transfers.items():
    below = style_of["photo"] / style_of[name]
    panels[f"transfer, {name} weights\nstyle loss {below:.1f}x lower"] = result.image  # than the photo's
fig = show_images(panels, ncols=3, size=2.2)

# %% [markdown]
# **What to notice.**
#
# - The random network's texture has the painting's colours in the right proportions, as blobs of yellow in a
#   grainy blue. The trained network agrees: at relu1_1 it is tens of times closer to the painting than the noise
#   was, at relu2_1 about ten times (the trained network's own texture is closer still). Random filters of a few
#   pixels already measure colour and local contrast, as Ustyuzhaninov et al. and He et al. found.
# - From relu4_1 up it is about as far from the painting as the noise was (at relu3_1 it depends on the draw): no
#   swirls, no stars, nothing larger than a few pixels. That is what training adds: deep filters tuned to the
#   curves, blobs and textures of natural images, whose co-occurrences describe a painting's larger structures.
#   Random deep filters mix their inputs without preference, so their Gram matrices hold little more than the
#   colour and grain below them.
# - The second random network, as judge, prefers the *random* texture: random VGG19s of other seeds agree with each
#   other, since what their Gram matrices hold is mostly colour and grain. Each network measures style in its own
#   terms, so "closer to the painting" always needs a judge.
# - The transfer with random weights likewise takes the painting's palette and a fine grain, not its strokes; by
#   the trained network's measure its style loss falls a few times below the photo's, the trained transfer's far
#   more.

# %%
# FOR THE CHECKS CELL of notebook 5 (before its final print): the random-weights experiment.
from nst_helpers.checks import claim  # noqa: E402  (already imported there)

judged = {row: error["trained VGG19"] for row, error in errors.items()}  # the trained judge, layer by layer
fine = {row: e["relu1_1"] + e["relu2_1"] for row, e in judged.items()}
coarse = {row: e["relu3_1"] + e["relu4_1"] + e["relu5_1"] for row, e in judged.items()}
noise_row, trained_row, random_row = rows
claim("random weights reproduce the fine scale: at relu1_1 + relu2_1 far closer than noise (trained judge, times)",
      fine[noise_row] / fine[random_row], above=3)
claim("training adds the large scale: at relu3_1..relu5_1 the trained texture is far closer (trained judge, times)",
      coarse[random_row] / coarse[trained_row], above=5)
other = {row: sum(error["another random VGG19"].values()) for row, error in errors.items()}
claim("another random network prefers the random network's texture (random judge, times)",
      other[trained_row] / other[random_row], above=2)
claim("training adds to the transfer: its style loss is far lower (trained judge, random / trained)",
      style_of["random"] / style_of["trained"], above=1.5)

# %%
print(f"group B (notebook 5, What does training add?): {time.perf_counter() - group_start:.0f} s "
      f"({time.process_time() - group_cpu:.0f} s CPU) at profile {P.name!r}")
