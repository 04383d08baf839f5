"""The inverse problem a method sees: y, the degradation and a seed — never the clean image."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
import torch.nn.functional as F

from arena.degradations import DEGRADATIONS, Degradation
from arena.errors import SpecError
from arena.noise_models import estimate_sigma
from arena.params import resolve


@dataclass(frozen=True)
class Problem:
    """y = A(x) + n with a known A and noise model.

    Attributes
    ----------
    y : Tensor
        The observation, batch of one.
    degradation : Degradation
        Forward model (``A``, ``A_adjoint``, ``initial``) and noise model.
    seed : int
        Methods draw their own randomness from it, so runs are reproducible.
    seconds : float or None
        The wall time this method may use (the runner's budget). Methods that can scale (network
        size, iteration count) choose from it so that they finish; ``None``: no limit.
    """

    y: torch.Tensor
    degradation: Degradation
    seed: int = 0
    seconds: float | None = None

    @property
    def x_shape(self) -> tuple[int, int, int, int]:
        return (1, *self.degradation.shape)

    @property
    def device(self) -> torch.device:
        return self.y.device

    @property
    def linear(self) -> bool:
        return self.degradation.linear

    @property
    def noise_rms(self) -> float:
        """Expected RMS of the noise on the measurements (0–1 scale)."""
        with torch.no_grad():
            return self.degradation.noise.rms(self.y)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return self.degradation.A(x)

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self.degradation.A_adjoint(y)

    def initial(self) -> torch.Tensor:
        """The degradation's natural estimate from y (Aᵀy, bicubic, zero-fill, …)."""
        with torch.no_grad():
            return self.degradation.initial(self.y).clone()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """A(x) − y, zero where the operator has no measurement."""
        r = self.A(x) - self.y
        mask = self.degradation.measurement_mask()
        return r if mask is None else r * mask

    def fidelity(self, x: torch.Tensor) -> torch.Tensor:
        """½‖A(x) − y‖², summed over the batch."""
        return 0.5 * self.residual(x).pow(2).sum()

    def fidelity_grad(self, x: torch.Tensor) -> torch.Tensor:
        """∇ₓ ½‖A(x) − y‖²: Aᵀ(Ax − y) in closed form for linear A, autograd otherwise."""
        return self.fidelity_and_grad(x)[1]

    def fidelity_and_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(½‖A(x) − y‖², its gradient) from one evaluation of A — what a descent step needs."""
        if self.linear:
            with torch.no_grad():
                r = self.residual(x)
                return 0.5 * r.pow(2).sum(), self.A_adjoint(r)
        with torch.enable_grad():
            xv = x.detach().requires_grad_(True)
            value = self.fidelity(xv)
            (g,) = torch.autograd.grad(value, xv)
        return value.detach(), g

    @property
    def sigma(self) -> float:
        """Noise standard deviation per measurement on the [0, 1] scale (what defaults scale with)."""
        return self.noise_rms

    @property
    def sigma_eff(self) -> float:
        """√(σ² + σ_eq²): the noise level plus what the operator's lost information is worth
        (:meth:`Degradation.equivalent_sigma`) — the one number problem-aware defaults scale with."""
        return (self.sigma**2 + self.degradation.equivalent_sigma() ** 2) ** 0.5

    @cached_property
    def measurements(self) -> int:
        """m: the number of actual measurements (entries of y that the operator acquires)."""
        mask = self.degradation.measurement_mask()
        if mask is None:
            return int(self.y.numel())
        return int(mask.expand_as(self.y).sum().item())

    @cached_property
    def lipschitz(self) -> float:
        """Upper estimate of the Lipschitz constant of :meth:`fidelity_grad` (‖A‖² when linear)."""
        return max(float(self.degradation.lipschitz()), 1e-12)


def build_degradation(
    name: str, shape: tuple[int, int, int], values: Mapping[str, Any], *, seed: int = 0,
    device: torch.device | str = "cpu",
) -> Degradation:
    """Check ``values`` against the family's schema and build the operator for ``shape``."""
    cls = DEGRADATIONS.get(name)
    checked = resolve(cls.params, values, name)
    return cls(shape, seed=seed, device=device, **checked)


def make_problem(
    clean: torch.Tensor, name: str, values: Mapping[str, Any] | None = None, *, seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[Problem, torch.Tensor, list[str]]:
    """Degrade ``clean`` (``(1, C, H, W)``) with the named family and seed.

    Returns
    -------
    problem : Problem
        What methods receive.
    clean : Tensor
        The clean image on ``device``, cropped or resized if the operator needs another shape;
        only the runner keeps it, for the metrics.
    notices : list of str
        What was changed, in words.

    Raises
    ------
    SpecError
        Unknown family, bad parameter, or an image the operator cannot take.
    """
    cls = DEGRADATIONS.get(name)
    checked = resolve(cls.params, values or {}, name)
    shape = tuple(clean.shape[1:])
    target, how = cls.target_shape(shape, checked)  # type: ignore[arg-type]
    notices: list[str] = []
    if how is not None and target != shape:
        (_, h, w), (_, nh, nw) = shape, target
        if how == "crop":
            top, left = (h - nh) // 2, (w - nw) // 2
            clean = clean[..., top : top + nh, left : left + nw]
            notices.append(f"cropped from {w}×{h} to {nw}×{nh} for {cls.label.lower()}")
        else:
            clean = F.interpolate(clean, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
            notices.append(f"resized from {w}×{h} to {nw}×{nh} for {cls.label.lower()}")
    clean = clean.to(device=device, dtype=torch.float32).contiguous()
    degradation = cls(tuple(clean.shape[1:]), seed=seed, device=device, **checked)
    y = degradation.observe(clean, degradation.generator(0))
    return Problem(y=y, degradation=degradation, seed=seed), clean, notices


def observed_problem(
    y: torch.Tensor, name: str, values: Mapping[str, Any] | None = None, *, seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[Problem, dict[str, Any], list[str]]:
    """A problem from a photo that is already degraded: ``y`` is the observation, x is unknown.

    The noise level may be ``"auto"``: estimated from ``y`` (:func:`arena.noise_models.estimate_sigma`) and
    recorded in the returned values, so a replay uses the same number. SR's x is ``factor`` times
    larger than the photo; colorization takes the photo's luma; an inpainting mask (``mask=file``)
    blanks the painted pixels of the photo.

    Returns
    -------
    problem, values, notices
        The problem, the degradation's values as used (numbers, not ``auto``), what was done in words.

    Raises
    ------
    SpecError
        A family whose observation is not an image (MRI, compressive sensing), or a bad value.
    """
    cls = DEGRADATIONS.get(name)
    if not cls.observable:
        raise SpecError(f"{name}: its measurements are not an image, so a photo cannot be its observation; "
                        "choose denoise, poisson, blur, sr, inpaint, colorize, quantize or camera")
    values = dict(values or {})
    notices: list[str] = []
    y = y.to(device=device, dtype=torch.float32)
    if name == "colorize" and y.shape[1] == 3:
        y = (y * torch.tensor((0.299, 0.587, 0.114), device=y.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        notices.append("the photo's luma (BT.601) is the observation")
    key = cls.noise_key
    if key is not None and str(values.get(key, "")).strip().lower() == "auto":
        sigma = estimate_sigma(y) * 255
        values[key] = round(sigma, 2)
        notices.append(f"noise σ estimated from the photo: {sigma:.2f}/255 (wavelet median absolute deviation)")
    for p in cls.params:
        if str(values.get(p.name, "")).strip().lower() == "auto":
            raise SpecError(f"{name}: {p.name}=auto is not estimated from a photo; give a number")
    checked = resolve(cls.params, values, name)
    shape = cls.clean_shape(tuple(y.shape[1:]), checked)  # type: ignore[arg-type]
    degradation = cls(shape, seed=seed, device=device, **checked)
    mask = degradation.measurement_mask()
    if mask is not None and tuple(mask.shape[-2:]) == tuple(y.shape[-2:]):
        y = y * mask
    return Problem(y=y, degradation=degradation, seed=seed), checked, notices
