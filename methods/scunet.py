"""SCUNet: a published supervised denoiser (Swin-Conv-UNet), through the deepinv bridge."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena.method import METHODS, Method, Step
from arena.problem import Problem


@METHODS.register
class SCUNetMethod(Method):
    """x̂ = f_θ(y), θ = argmin E‖f_θ(y) − x‖² over pairs from a random degradation pipeline (Gaussian,
    Poisson, speckle, JPEG and camera-processed noise, resizing): a *blind* denoiser that is given
    no σ. Swin transformer blocks and residual convolutions in parallel, in a U-Net.

    Denoising only (Gaussian or Poisson): a supervised denoiser knows nothing about other operators
    (``pnp`` or ``red`` with ``denoiser=drunet-published`` bring a published denoiser to them). A grey
    image is given as three equal channels and the output averaged back.

    Weights: the authors' ``scunet_color_real_psnr.pth`` (the PSNR-trained model for real noise; 72 MB;
    Apache-2.0 as stated by github.com/cszn/SCUNet), copied to huggingface.co/deepinv/scunet, read from
    the torch hub cache — never downloaded during a run: ``arena weights fetch scunet-color`` on a
    connected machine. Needs ``pip install "restoration-arena[deepinv]"``.
    """

    name = "scunet"
    family = "learned"
    rule = (r"\hat x = f_\theta(y),\qquad \theta = \arg\min_\theta \mathbb{E}\,\|f_\theta(y) - x\|^2\ "
            r"\text{(blind: given no } \sigma)")
    label = "SCUNet (published denoiser, deepinv)"
    reference = ("Zhang, Li, Liang, Cao, Zhang, Tang, Timofte & Van Gool, Practical Blind Image Denoising via "
                 "Swin-Conv-UNet and Data Synthesis, Machine Intelligence Research 2023 (weights: Apache-2.0, "
                 "via DeepInverse)")
    order = 77
    heavy = True
    iterative = False
    published = ("scunet-color",)

    def supports(self, problem: Problem) -> str | None:
        if problem.degradation.name not in ("denoise", "poisson"):
            return (f"SCUNet is a denoiser trained for y = x + noise; it knows nothing about "
                    f"{problem.degradation.name} (pnp or red with denoiser=drunet-published use a published "
                    "denoiser on any operator)")
        if problem.x_shape[1] not in (1, 3):
            return f"SCUNet takes colour (or grey) images, not {problem.x_shape[1]} channels"
        return None

    def run(self, problem: Problem) -> Iterator[Step]:
        from arena.bridge.published import load

        net = load("scunet-color", problem.device)
        y = problem.y
        grey = y.shape[1] == 1
        with torch.no_grad():
            x = net(y.expand(-1, 3, -1, -1) if grey else y).float()
        x = (x.mean(1, keepdim=True) if grey else x).clamp(0, 1)
        yield Step(1, x, {"loss": float(problem.fidelity(x))})
