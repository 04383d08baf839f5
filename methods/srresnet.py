"""SRResNet: a ×4 super-resolution network trained with the MSE."""

from __future__ import annotations

from arena.method import METHODS
from arena.nets.srresnet import DEFAULT_SRRESNET
from arena.supervised_sr import SupervisedSR


@METHODS.register
class SRResNetMethod(SupervisedSR):
    """x̂ = f_θ(y), θ = argmin E‖f_θ(y) − x‖²: the posterior mean, hence the best PSNR and blurry edges.

    A small SRResNet (32 channels, 6 residual blocks, two pixel-shuffle ×2 steps) trained on photo
    patches degraded by the arena's own ×4 operator (``weights/srresnet_x4.md``). One forward pass.
    """

    name = "srresnet"
    label = "SRResNet (MSE)"
    reference = ("Ledig, Theis, Huszár, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz, Wang & Shi, "
                 "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network, CVPR 2017")
    order = 74
    weights = ("srresnet_x4.safetensors",)
    default = DEFAULT_SRRESNET
