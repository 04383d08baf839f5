"""Recurrent Inference Machine: learned gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

from arena.degradations.jpeg import ROUNDING_LIMIT
from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.rim import DEFAULT_RIM
from arena.params import Param
from arena.problem import Problem
from arena.unroll import CONSISTENCY, checkpoint_path, trained_cell, unrolled_steps


@METHODS.register
class RecurrentInferenceMachine(Method):
    """x_{t+1} = x_t + g_ω(∇ₓ½‖A x_t − y‖² / L, x_t, σ; h_t): a trained recurrent cell chooses each update.

    g_ω (conv → ConvGRU → conv → ConvGRU → conv, 32 channels) was trained once, on a family of
    noise, blur, super-resolution, inpainting, camera-response and quantization problems
    (``weights/learned.md``), to turn the likelihood gradient of the *current* problem into a good
    step. It sees A only through that gradient — autograd through A when A is not linear — so it
    runs on any degradation, including ones it never saw; whether it still helps there is the
    experiment. Each unrolled step is one iteration; it was trained for 16.

    By default the last iterate gets the data-proximal step (``consistency``): where the cell's
    output fits y worse than the noise does, it is replaced by the Tikhonov solution with that output
    as prior mean, μ chosen by the unbiased predictive risk (Göppel, Frikel & Haltmeier 2023; Vogel
    2002). Inside its training family the cell already fits y about as well as the noise allows
    and nothing moves; noiseless SR, inpainting and the camera response gain (``benchmarks/LEARNED.md``,
    the RIM cell and RIM columns).
    """

    name = "rim"
    family = "learned"
    rule = r"x_{t+1} = x_t + g_\omega\big(\nabla_x \tfrac12\|Ax_t - y\|^2 / L,\ x_t,\ \sigma;\ h_t\big)"
    label = "Recurrent Inference Machine"
    reference = ("Putzky & Welling, Recurrent Inference Machines for Solving Inverse Problems, 2017; "
                 "Adler & Öktem, Solving ill-posed inverse problems using iterative deep neural networks, 2017; "
                 "Göppel, Frikel & Haltmeier, Data-proximal null-space networks for inverse problems, 2023; "
                 "Vogel, Computational Methods for Inverse Problems, 2002, §7.1 (UPRE)")
    order = 70
    limits = {
        "colorize": "the RIM never saw colorization; its steps add colour noise (−1.5 dB)",
        "quantize": "trained on quantization too (3–16 levels), but through the straight-through gradient, which "
                    "points at y itself: −0.8 dB at 48² (5 levels); the data-proximal step leaves rounding out",
        "jpeg": ROUNDING_LIMIT + " (rim: −2.2 dB; never trained on JPEG)",
    }
    weights = ("rim.safetensors",)
    heavy = True
    params = (
        iterations_param(16),
        Param("weights", "", "a .safetensors cell from training/train_rim.py (empty: the shipped one)",
              server_path=True),
        CONSISTENCY,
    )

    def run(self, problem: Problem, *, iterations: int, weights: str, consistency: str) -> Iterator[Step]:
        cell, _ = trained_cell(checkpoint_path(weights, DEFAULT_RIM), str(problem.device), "gradient")
        yield from unrolled_steps(cell, problem, iterations, consistency)
