"""Recurrent Inference Machine: learned gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.rim import DEFAULT_RIM
from arena.params import Param
from arena.problem import Problem
from arena.rim import checkpoint_path, trained_cell, unrolled_steps


@METHODS.register
class RecurrentInferenceMachine(Method):
    """x_{t+1} = x_t + g_ω(∇ₓ½‖A x_t − y‖² / L, x_t, σ; h_t): a trained recurrent cell chooses each update.

    g_ω (conv → ConvGRU → conv → ConvGRU → conv, 16 channels) was trained once, on a family of
    noise, blur, super-resolution and inpainting problems (``weights/learned.md``), to turn the
    likelihood gradient of the *current* problem into a good step. It sees A only through that
    gradient — autograd through A when A is not linear — so it runs on any degradation, including
    ones it never saw; whether it still helps there is the experiment. Each unrolled step is one
    iteration; it was trained for 16.
    """

    name = "rim"
    label = "Recurrent Inference Machine"
    reference = ("Putzky & Welling, Recurrent Inference Machines for Solving Inverse Problems, 2017; "
                 "Adler & Öktem, Solving ill-posed inverse problems using iterative deep neural networks, 2017")
    order = 70
    weights = ("rim.safetensors",)
    heavy = True
    params = (
        iterations_param(16),
        Param("weights", "", "a .safetensors cell from training/train_rim.py (empty: the shipped one)",
              server_path=True),
    )

    def run(self, problem: Problem, *, iterations: int, weights: str) -> Iterator[Step]:
        cell, _ = trained_cell(checkpoint_path(weights, DEFAULT_RIM), str(problem.device), "gradient")
        yield from unrolled_steps(cell, problem, iterations)
