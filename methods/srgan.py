"""SRGAN: the same ×4 network trained with a VGG content loss and an adversarial loss."""

from __future__ import annotations

from arena.method import METHODS
from arena.nets.srresnet import DEFAULT_SRGAN
from arena.supervised_sr import SupervisedSR


@METHODS.register
class SRGANMethod(SupervisedSR):
    """x̂ = f_θ(y), θ from SRResNet's, then argmin ‖VGG(f_θ(y)) − VGG(x)‖² − λ log D(f_θ(y)).

    The content loss compares VGG-16 feature maps instead of pixels and the discriminator pushes the
    output towards images it cannot tell from photographs: sharper edges and invented texture, a
    lower PSNR than SRResNet and a better perceptual distance (``weights/srgan_x4.md``).
    """

    name = "srgan"
    label = "SRGAN (VGG + adversarial)"
    reference = ("Ledig et al., Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                 "Network, CVPR 2017; Blau & Michaeli, The Perception-Distortion Tradeoff, CVPR 2018")
    order = 75
    weights = ("srgan_x4.safetensors",)
    default = DEFAULT_SRGAN
