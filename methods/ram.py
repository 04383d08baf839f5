"""RAM: one published network for many linear inverse problems, through the deepinv bridge."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from arena.method import METHODS, Method, Step
from arena.problem import Problem


@METHODS.register
class ReconstructAnything(Method):
    """x̂ = R_θ(y, A): the Reconstruct Anything Model, one forward pass of a network that is told the
    operator. It starts from Aᵀy, pulls its input towards the data by a proximal step
    prox_{γ‖A· − y‖²} with γ set by the signal-to-noise ratio, and feeds Krylov features of AᵀA at four
    scales and the noise level (σ from the Gaussian model, the gain from the Poisson one) into a
    DRUNet-like U-Net — so a single set of weights serves deblurring, super-resolution, inpainting,
    MRI, compressive sensing and denoising, at any σ.

    The arena's degradation reaches it unchanged through ``arena.bridge.physics.to_physics`` (our A,
    Aᵀ and noise model as a deepinv ``LinearPhysics``); non-linear forward models are refused.

    Weights: the authors' published checkpoint ``ram.pth.tar`` (143 MB; BSD-3-Clause per
    huggingface.co/deepinv/ram; deepinv 0.5 downloads it from huggingface.co/mterris/ram), read from
    the torch hub cache — never downloaded during a run: ``arena weights fetch ram`` on a connected
    machine, or copy the file into the cache (``arena weights`` shows where). Needs the optional
    dependency ``pip install "restoration-arena[deepinv]"``.
    """

    name = "ram"
    family = "learned"
    rule = r"\hat x = R_\theta(y, A)\quad\text{(one forward pass of a network told the operator)}"
    label = "RAM (published, deepinv)"
    reference = ("Terris, Hurault, Song & Moreau, Reconstruct Anything Model: a lightweight foundation model "
                 "for computational imaging, 2025 (weights: BSD-3-Clause, via DeepInverse)")
    order = 76
    heavy = True
    iterative = False
    published = ("ram",)

    def supports(self, problem: Problem) -> str | None:
        if not problem.linear:
            return (f"RAM needs a linear operator (it is given A, Aᵀ and their proximal step); "
                    f"{problem.degradation.name} is not linear")
        if problem.x_shape[1] not in (1, 3):
            return f"RAM has heads for grey and colour images, not {problem.x_shape[1]} channels"
        return None

    def run(self, problem: Problem) -> Iterator[Step]:
        from arena.bridge.physics import to_physics
        from arena.bridge.published import load

        net = load("ram", problem.device)
        physics = to_physics(problem.degradation)
        with torch.no_grad():
            x = net(problem.y, physics).float()
        yield Step(1, x, {"loss": float(problem.fidelity(x))})
