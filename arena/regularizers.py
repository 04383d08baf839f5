"""Discrete gradients and the smooth priors built on them (course notation, Leclaire 2024).

∇u = (∂₁u, ∂₂u) by forward differences; ``div = −∇ᵀ``; ‖∇‖² ≤ 8. ``circular=False`` uses
Neumann boundaries (the last difference is zero); ``circular=True`` wraps around, which makes ∇ᵀ∇
diagonal in Fourier (used by the closed-form Tikhonov/Wiener filter).
"""

from __future__ import annotations

import torch

GRAD_NORM_SQ = 8.0
"""Upper bound of ‖∇‖² in two dimensions."""


def grad(u: torch.Tensor, *, circular: bool = False) -> torch.Tensor:
    """Forward differences of ``(B, C, H, W)`` → ``(B, C, 2, H, W)`` (vertical, horizontal)."""
    if circular:
        dv = torch.roll(u, -1, dims=-2) - u
        dh = torch.roll(u, -1, dims=-1) - u
    else:
        dv = torch.zeros_like(u)
        dh = torch.zeros_like(u)
        dv[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
        dh[..., :, :-1] = u[..., :, 1:] - u[..., :, :-1]
    return torch.stack((dv, dh), dim=-3)


def div(p: torch.Tensor, *, circular: bool = False) -> torch.Tensor:
    """Discrete divergence, the negative adjoint of :func:`grad` (⟨∇u, p⟩ = −⟨u, div p⟩)."""
    pv, ph = p.unbind(dim=-3)
    if circular:
        return (pv - torch.roll(pv, 1, dims=-2)) + (ph - torch.roll(ph, 1, dims=-1))
    dv = torch.zeros_like(pv)
    dh = torch.zeros_like(ph)
    dv[..., 0, :] = pv[..., 0, :]
    dv[..., 1:-1, :] = pv[..., 1:-1, :] - pv[..., :-2, :]
    dv[..., -1, :] = -pv[..., -2, :]
    dh[..., :, 0] = ph[..., :, 0]
    dh[..., :, 1:-1] = ph[..., :, 1:-1] - ph[..., :, :-2]
    dh[..., :, -1] = -ph[..., :, -2]
    return dv + dh


def dirichlet(u: torch.Tensor, *, circular: bool = False) -> torch.Tensor:
    """½‖∇u‖² (the Tikhonov/Sobolev prior)."""
    return 0.5 * grad(u, circular=circular).pow(2).sum()


def dirichlet_grad(u: torch.Tensor, *, circular: bool = False) -> torch.Tensor:
    """∇(½‖∇u‖²) = −div ∇u = −Δu."""
    return -div(grad(u, circular=circular), circular=circular)


def tv_smooth_and_grad(u: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """TV_ε(u) = Σ √(|∇u|² + ε²) (per channel) and ∇TV_ε(u) = −div(∇u / √(|∇u|² + ε²)).

    The gradient is Lipschitz with constant ‖∇‖²/ε ≤ 8/ε; both share one finite-difference pass.
    """
    g = grad(u)
    norm = torch.sqrt(g.pow(2).sum(dim=-3, keepdim=True) + eps**2)
    return norm.sum(), -div(g / norm)


def laplacian_transfer(size: tuple[int, int], device: torch.device | str = "cpu") -> torch.Tensor:
    """|D̂|² on the ``rfft2`` grid: the eigenvalues of ∇ᵀ∇ with circular boundaries."""
    h, w = size
    fv = torch.fft.fftfreq(h, device=device)[:, None]
    fh = torch.fft.rfftfreq(w, device=device)[None, :]
    return (4 * torch.sin(torch.pi * fv) ** 2 + 4 * torch.sin(torch.pi * fh) ** 2).float()
