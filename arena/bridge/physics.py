"""One adapter: any linear degradation of the arena as a DeepInverse ``LinearPhysics``.

The adapter does not translate operators into deepinv's classes: it wraps the arena's own ``A`` and
``A_adjoint`` (so every family, present and future, has one, with its exact boundary handling), and
translates the noise model (Gaussian σ → ``GaussianNoise(sigma)``, Poisson peak p →
``PoissonNoise(gain=1/p)``, none → ``ZeroNoise``; masked families keep the noise where they measure).
Deepinv's solvers and networks (``prox_l2``, ``A_dagger``, RAM) then see the same problem as the
arena's methods.

Where deepinv has its own operator, ``tests/test_deepinv_bridge.py`` checks that both compute the same
A and Aᵀ (relative difference ≤ 1e-5). The deepinv options that reproduce our conventions:

- ``blur`` (circular): ``Blur(filter=k, padding="circular")`` or ``BlurFFT(img_size, filter=k)``, with
  k our kernel unflipped (both libraries convolve); ``boundary=valid``: ``Blur(filter=k, padding="valid")``.
- ``sr``: ``Downsampling(filter=h, factor=f, padding="circular")`` with h our separable Keys-cubic taps
  placed on an odd, centred grid. Deepinv's own ``filter="bicubic"`` equals ours at ×2; at ×4 and ×8
  its low-resolution grid is shifted by (f − 1)//2 pixels (ours centres pixel j at j·f + (f − 1)/2).
- ``inpaint``: ``Inpainting(img_size, mask=M)``.
- ``mri``: deepinv's ``MRI`` works on complex images ``(B, 2, H, W)`` with a *centred* FFT
  (fftshift ∘ F ∘ ifftshift); ours on real images with the unshifted FFT and measurements
  ``(B, C, H, W, 2)``. With the mask fftshift(M): A_ours(x) = ifftshift(A_deepinv(fftshift(x) + 0i)),
  moved from the channel axis to the last one.
- ``denoise``: ``Denoising``.
"""

from __future__ import annotations

from typing import Any

import torch

from arena.degradations.base import Degradation
from arena.errors import UnsupportedError
from arena.noise_models import GaussianNoise, NoiseModel, NoNoise, PoissonNoise

INSTALL = 'pip install "restoration-arena[deepinv]"'


def deepinv_missing() -> str | None:
    """None if deepinv can be imported, else one sentence saying how to install it."""
    try:
        import deepinv  # noqa: F401
    except ImportError:
        return f"this needs the optional package deepinv, which is not installed: {INSTALL}"
    return None


def noise_model(noise: NoiseModel, mask: torch.Tensor | None = None) -> Any:
    """The deepinv noise model of one of ours (``mask``: noise only where the operator measures)."""
    import deepinv as dinv

    if isinstance(noise, GaussianNoise):
        model = dinv.physics.GaussianNoise(sigma=noise.sigma)
    elif isinstance(noise, PoissonNoise):
        model = dinv.physics.PoissonNoise(gain=1.0 / noise.peak, normalize=True, clip_positive=True)
    elif isinstance(noise, NoNoise):
        model = dinv.physics.ZeroNoise()
    else:
        raise UnsupportedError(f"no deepinv counterpart for the noise model {noise.describe()}")
    if mask is not None:
        model = _masked(model, mask)
    return model


def _masked(model: Any, mask: torch.Tensor) -> Any:
    """``model``'s noise only where ``mask`` is 1 (missing pixels, skipped k-space rows carry none),
    with its ``sigma``/``gain`` still readable (RAM conditions on them)."""
    import deepinv as dinv

    class MaskedNoise(dinv.physics.NoiseModel):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model
            self.register_buffer("mask", mask)

        def __getattr__(self, name: str) -> Any:
            if name in ("sigma", "gain"):
                return getattr(self.inner, name)
            return super().__getattr__(name)

        def forward(self, x: torch.Tensor, seed: int | None = None, **kwargs: Any) -> torch.Tensor:
            return self.inner(x, seed=seed, **kwargs) * self.mask

    return MaskedNoise()


def to_physics(degradation: Degradation) -> Any:
    """``deepinv.physics.LinearPhysics`` with our A, Aᵀ and noise model.

    Parameters
    ----------
    degradation : Degradation
        A linear family (``degradation.linear``).

    Returns
    -------
    deepinv.physics.LinearPhysics
        ``A``/``A_adjoint`` are ours; ``img_size`` is the clean image's (C, H, W); for ``sr`` the
        attribute ``factor`` is set, as on deepinv's ``Downsampling`` (RAM scales its data step with it).

    Raises
    ------
    UnsupportedError
        For a non-linear family (deepinv's ``LinearPhysics`` needs an adjoint).
    """
    if not degradation.linear:
        raise UnsupportedError(f"{degradation.name} is not linear: deepinv's LinearPhysics needs an adjoint")
    import deepinv as dinv

    mask = degradation.measurement_mask()
    physics = dinv.physics.LinearPhysics(
        A=lambda x, **_: degradation.A(x),
        A_adjoint=lambda y, **_: degradation.A_adjoint(y),
        img_size=tuple(degradation.shape),
        noise_model=noise_model(degradation.noise, mask),
        max_iter=50,
        implicit_backward_solver=False,
        device=degradation.device,
    )
    if getattr(degradation, "factor", None):
        physics.factor = int(degradation.factor)
    return physics
