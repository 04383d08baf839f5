"""SRResNet: a ×4 super-resolution network trained with the MSE."""

from __future__ import annotations

from arena.method import METHODS
from arena.nets.srresnet import DEFAULT_SRRESNET
from arena.supervised_sr import SupervisedSR, ensemble_param


@METHODS.register
class SRResNetMethod(SupervisedSR):
    """x̂ = f_θ(y), θ = argmin E‖f_θ(y) − x‖²: the posterior mean, hence the best PSNR and blurry edges.

    An SRResNet without batch norm (two pixel-shuffle ×2 steps; width and depth in its model card,
    ``weights/sr_x4.md``) trained on photo patches degraded by the arena's own ×4 operator. By
    default its outputs for the 8 flips and quarter turns of y are averaged (geometric
    self-ensemble): the estimate the MSE asks for, closer to the posterior mean.
    """

    name = "srresnet"
    family = "learned"
    rule = r"\hat x = f_\theta(y),\qquad \theta = \arg\min_\theta \mathbb{E}\,\|f_\theta(y) - x\|^2"
    label = "SRResNet (MSE)"
    reference = ("Ledig, Theis, Huszár, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz, Wang & Shi, "
                 "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network, CVPR 2017")
    params = (*SupervisedSR.params, ensemble_param(True))
    order = 74
    weights = ("srresnet_x4.safetensors",)
    default = DEFAULT_SRRESNET
