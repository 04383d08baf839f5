"""Learned Gauss–Newton: the RIM's recurrent cell fed the Gauss–Newton direction."""

from __future__ import annotations

from collections.abc import Iterator

from arena.degradations.jpeg import ROUNDING_LIMIT
from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.rim import DEFAULT_LGN
from arena.params import Param
from arena.problem import Problem
from arena.unroll import CONSISTENCY, checkpoint_path, trained_cell, unrolled_steps


@METHODS.register
class LearnedGaussNewton(Method):
    """x_{t+1} = x_t + g_ω(d_t, x_t, σ; h_t), d_t ≈ −(JᵀJ + δI)⁻¹ Jᵀ(φ(x_t) − y) by 3 CG steps.

    Where the RIM feeds its cell the likelihood gradient, this one feeds it the Gauss–Newton
    direction of the current linearisation (J: the Jacobian of φ at x_t, used only through
    Jacobian–vector products), the step that regularised Gauss–Newton would take, and lets the
    trained cell decide how much of it to trust. Trained once on the same family as the RIM
    (noise, blur, SR, inpainting, the camera response, quantization; ``weights/learned.md``) for
    4 steps: 4 × (1 + 1 + 2·3) = 32 Jacobian products, the RIM's 16 × 2.
    """

    name = "lgn"
    family = "learned"
    rule = (r"x_{t+1} = x_t + g_\omega(d_t, x_t, \sigma;\ h_t),\qquad d_t \approx -(J^\top J + "
            r"\delta I)^{-1} J^\top(\varphi(x_t) - y)")
    label = "Learned Gauss–Newton"
    reference = ("the RIM of Putzky & Welling, Recurrent Inference Machines for Solving Inverse Problems, 2017, "
                 "fed Gauss–Newton directions as in Burger & Kaltenbacher, Regularizing Newton–Kaczmarz methods "
                 "for nonlinear ill-posed problems, SIAM J. Numer. Anal. 2006")
    order = 73
    limits = {
        "colorize": "the cell never saw colorization: its Gauss–Newton steps add colour noise (−0.4 dB)",
        "quantize": "the straight-through Jacobian is the identity, so the Gauss–Newton direction points at y "
                    "itself (the naive inverse); the 4-step cell's corrections lose 1.2 dB at 48²",
        "jpeg": ROUNDING_LIMIT + " (lgn: −0.8 dB; never trained on JPEG)",
    }
    weights = ("lgn.safetensors",)
    heavy = True
    params = (
        iterations_param(4),
        Param("weights", "", "a .safetensors gauss_newton cell from training/train_rim.py --only lgn "
              "(empty: the shipped one)", server_path=True),
        CONSISTENCY,
    )

    def run(self, problem: Problem, *, iterations: int, weights: str, consistency: str) -> Iterator[Step]:
        cell, _ = trained_cell(checkpoint_path(weights, DEFAULT_LGN), str(problem.device), "gauss_newton")
        yield from unrolled_steps(cell, problem, iterations, consistency)
