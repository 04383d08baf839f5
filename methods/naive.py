"""The naive inverse: whatever the degradation itself offers as a first guess."""

from __future__ import annotations

from collections.abc import Iterator

from arena.method import METHODS, Method, Step
from arena.problem import Problem


@METHODS.register
class Naive(Method):
    """x̂ = the degradation's first estimate ``initial(y)``, per family: y itself for denoising,
    Poisson noise, quantization and circular deblurring (not Aᵀy, which would blur it once more);
    y extended by edge replication to the full size for ``valid`` deblurring; bicubic
    interpolation for SR; zero-fill (Aᵀy) for inpainting; the real part of the zero-filled inverse
    FFT (Aᵀy) for MRI; the pseudo-inverse Φ⁺y for compressive sensing; the gray image in every
    channel for colorization; the inverted tone curve for the camera. No prior, no iterations: the
    baseline every method must beat.
    """

    name = "naive"
    rule = r"\hat x = x_0(y)\quad\text{(the degradation's first estimate: } y,\ A^\top y,\ \text{bicubic}, \ldots)"
    label = "Naive inverse"
    reference = "Leclaire, Restoration with Generative Priors (course), 2024"
    order = 10
    baseline = True
    iterative = False

    def run(self, problem: Problem) -> Iterator[Step]:
        x = problem.initial()
        yield Step(1, x, {"loss": float(problem.fidelity(x))})
