"""Small numerical building blocks shared by methods."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch


def conjugate_gradient(apply: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, x0: torch.Tensor,
                       iterations: int, tol: float = 1e-10) -> Iterator[tuple[torch.Tensor, float]]:
    """Conjugate gradients (Hestenes & Stiefel, 1952) for ``apply(x) = b`` with ``apply`` symmetric
    positive definite; yields ``(x_k, ‖r_k‖)`` after every step and stops early once ‖r‖ ≤ tol."""
    with torch.no_grad():
        x = x0.clone()
        r = b - apply(x)
        p = r.clone()
        rs = float((r * r).sum())
        for _ in range(iterations):
            if rs <= tol**2:
                yield x, rs**0.5
                return
            q = apply(p)
            alpha = rs / float((p * q).sum())
            x = x + alpha * p
            r = r - alpha * q
            rs_new = float((r * r).sum())
            p = r + (rs_new / rs) * p
            rs = rs_new
            yield x, rs**0.5
