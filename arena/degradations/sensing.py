"""Compressive sensing with a Gaussian matrix: y = Φ x + n, Φ ∈ ℝ^{m×n} with i.i.d. N(0, 1/m) entries."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from arena.degradations.base import DEGRADATIONS, Degradation, Shape, noise_param
from arena.params import Param, Value

MAX_PIXELS = 64 * 64


@DEGRADATIONS.register
class CompressiveSensing(Degradation):
    """Each channel (n = H·W ≤ 4096 pixels) is measured by the same dense random matrix Φ with
    m = ``ratio``·n rows. With entries of variance 1/m, E‖Φx‖² = ‖x‖² (Bora et al.'s setting).
    Larger images are downscaled to 4096 pixels first, since Φ is dense. The natural start is
    the minimum-norm solution Φ⁺y (pseudo-inverse).
    """

    name = "cs"
    order = 90
    observable = False
    label = "Compressive sensing (Gaussian)"
    linear = True
    params = (
        Param("ratio", 0.25, "measurements per pixel m/n", min=0.01, max=1.0),
        noise_param(0.0),
    )

    @classmethod
    def target_shape(cls, shape: Shape, values: Mapping[str, Value]) -> tuple[Shape, str | None]:
        c, h, w = shape
        if h * w <= MAX_PIXELS:
            return shape, None
        s = math.sqrt(MAX_PIXELS / (h * w))
        nh, nw = max(8, int(h * s)), max(8, int(w * s))
        return (c, nh, nw), "resize"

    def setup(self) -> None:
        _, h, w = self.shape
        n = h * w
        if n > MAX_PIXELS:
            raise self.fail(f"image has {n} pixels; at most {MAX_PIXELS} fit a dense matrix (use --max-side 64)")
        m = max(1, round(float(self.values["ratio"]) * n))
        phi = torch.randn((m, n), generator=self.generator(3)) / math.sqrt(m)
        self.phi = phi.to(self.device)
        # Φ has full row rank (m ≤ n, Gaussian), so Φ⁺ = Φᵀ(ΦΦᵀ)⁻¹: an m×m solve, ~10× faster than an SVD.
        p64 = phi.double()
        self.phi_pinv = torch.linalg.solve(p64 @ p64.T, p64).T.float().to(self.device)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(-2) @ self.phi.T

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self.phi).unflatten(-1, self.shape[1:])

    def equivalent_sigma(self) -> float:
        """0.03 × the fraction of dimensions not measured (as MRI's skipped rows)."""
        return 0.03 * (1.0 - self.phi.shape[0] / self.phi.shape[1])

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self.phi_pinv.T).unflatten(-1, self.shape[1:])
