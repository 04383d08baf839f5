"""Subsampled Fourier measurements (MRI-like): y = M ⊙ F x + n, F the orthonormal 2-D DFT."""

from __future__ import annotations

import torch

from arena.degradations.base import DEGRADATIONS, Degradation, noise_param
from arena.params import Param


@DEGRADATIONS.register
class MRI(Degradation):
    """Cartesian undersampling: only some rows (phase-encoding lines) of k-space are acquired.

    The central ``center`` fraction of rows (low frequencies) is always kept and the rest are
    drawn at random until ``ratio`` of all rows is reached, as in fastMRI's Cartesian masks. The
    complex measurements are stored as real tensors ``(..., H, W, 2)`` (real, imaginary), so A is
    a real-linear map and ⟨Ax, y⟩ is the real inner product. Noise (0–255 scale) is added to the
    real and imaginary parts of the acquired coefficients only.

    The image is real, so its spectrum is Hermitian, X(−k) = conj X(k): an acquired row k also
    tells row −k. The row mask is not conjugate-symmetric, so AᵀA = F⁻¹ w F on real images with
    weights w(k) = ½(M(k) + M(−k)) ∈ {0, ½, 1}; :meth:`project` accounts for that.
    """

    name = "mri"
    order = 80
    observable = False
    label = "MRI (subsampled Fourier)"
    linear = True
    params = (
        Param("ratio", 0.25, "fraction of k-space rows acquired", min=0.02, max=1.0),
        Param("center", 0.08, "fraction of central (low-frequency) rows always acquired", min=0.0, max=0.5),
        noise_param(1.0),
    )

    def setup(self) -> None:
        h = self.shape[1]
        ratio, center = float(self.values["ratio"]), float(self.values["center"])
        n_keep = max(1, round(ratio * h))
        n_center = min(n_keep, round(center * h))
        rows = torch.zeros(h, dtype=torch.bool)  # centred layout: DC at h // 2
        c0 = h // 2 - n_center // 2
        rows[c0 : c0 + n_center] = True
        rest = torch.nonzero(~rows).flatten()
        pick = rest[torch.randperm(len(rest), generator=self.generator(2))[: n_keep - n_center]]
        rows[pick] = True
        rows = torch.fft.ifftshift(rows)  # to the unshifted layout of torch.fft.fft2
        self.rows = rows
        self.mask = rows.float()[:, None].expand(h, self.shape[2])[None, None].contiguous().to(self.device)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        k = torch.fft.fft2(x.to(torch.float32), norm="ortho") * self.mask
        return torch.view_as_real(k)

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        k = torch.view_as_complex(y.contiguous()) * self.mask
        return torch.fft.ifft2(k, norm="ortho").real

    def observe(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return super().observe(x, generator) * self.mask[..., None]

    def measurement_mask(self) -> torch.Tensor:
        return self.mask[..., None].expand(*self.mask.shape, 2)

    def project(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Exact orthogonal projection of a real u onto {u real : A u = y} (data consistency).

        P(u) = u − A⁺(A u − y) with A⁺ = (AᵀA)⁺Aᵀ. In Fourier, on the rows M ∪ (−M) that the data
        determine, the coefficient becomes Y(k) = [M(k) y(k) + M(−k) conj y(−k)] / [M(k) + M(−k)]
        (y itself, the mirror of an acquired coefficient, or the average of both when k and −k
        were acquired), and the other coefficients of u are kept. Y is Hermitian, so P(u) is real;
        P∘P = P, and A P(u) = y for noiseless data. For noisy y (k and −k disagree) it is the
        projection onto the least-squares set argmin ‖A u − y‖.
        """
        ku = torch.fft.fft2(u, norm="ortho")
        my = torch.view_as_complex(y.contiguous()) * self.mask
        m_mirror = _mirror(self.mask)
        count = self.mask + m_mirror
        known = count > 0
        ky = (my + _mirror(my).conj()) / count.clamp_min(1.0)
        return torch.fft.ifft2(torch.where(known, ky, ku), norm="ortho").real

    def equivalent_sigma(self) -> float:
        """0.03 × the fraction of k-space rows skipped (0.0225 ≈ 5.7/255 at 25 % of the rows):
        the aliasing of the zero-filled image acts like structured noise."""
        return 0.03 * float(1.0 - self.rows.float().mean())

    def lipschitz(self) -> float:
        return 1.0


def _mirror(z: torch.Tensor) -> torch.Tensor:
    """z(−k) on the unshifted ``fft2`` grid of the last two dimensions (indices modulo H and W)."""
    return torch.roll(torch.flip(z, dims=(-2, -1)), shifts=(1, 1), dims=(-2, -1))
