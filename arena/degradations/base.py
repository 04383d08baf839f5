"""The forward-model contract every degradation family implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from arena.errors import SpecError
from arena.noise_models import NoiseModel, gaussian
from arena.params import Param, Value
from arena.registry import Registry

Shape = tuple[int, int, int]
"""(C, H, W) of the clean image."""

def noise_param(default: float) -> Param:
    """The ``noise`` parameter most families share: Gaussian σ on the 0–255 scale."""
    return Param("noise", default, "Gaussian noise σ on the 0–255 scale", min=0.0, max=100.0)


class Degradation(ABC):
    """A known forward model y = A(x) + n for images of one shape.

    Subclasses set the class attributes, build their operator in :meth:`setup`, and implement
    :meth:`A` (and :meth:`A_adjoint` when ``linear``). Every operator works on batches
    ``(B, C, H, W)`` of float32 images and is differentiable by autograd.

    Parameters
    ----------
    shape : (C, H, W)
        Shape of the clean image (after :meth:`target_shape`).
    seed : int
        Seeds everything random in the operator (masks, matrices) and in the noise.
    device : torch.device or str
    **values
        Parameter values, already checked against :attr:`params`.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    linear: ClassVar[bool]
    order: ClassVar[int] = 100
    """Listing position in the CLI and the app (noise first, then blur, resolution, masks, …)."""
    params: ClassVar[tuple[Param, ...]] = ()
    noise_key: ClassVar[str | None] = "noise"
    """The parameter holding the Gaussian σ (0–255), which an observed photo may estimate (``auto``)."""
    observable: ClassVar[bool] = True
    """Whether a photo can be this operator's observation y (not for k-space or sensing vectors)."""
    weights: ClassVar[tuple[str, ...]] = ()
    """Files in ``weights/`` the operator reads (a network as A); see :attr:`arena.method.Method.weights`."""
    rounds_only: ClassVar[bool] = False
    """A(x) is x up to rounding to levels (quantization): a search may stand in the identity for A,
    as Yeh et al. do, since rounding has no useful gradient."""

    def __init__(self, shape: Shape, *, seed: int = 0, device: torch.device | str = "cpu", **values: Value) -> None:
        self.shape = tuple(int(s) for s in shape)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.values: dict[str, Value] = dict(values)
        self.noise: NoiseModel = self.make_noise()
        self.setup()

    # --- what a family defines -------------------------------------------------------------
    def make_noise(self) -> NoiseModel:
        """The noise model; by default Gaussian with σ = ``noise`` (0–255 scale)."""
        return gaussian(float(self.values.get("noise", 0.0)))

    def setup(self) -> None:  # noqa: B027 — an optional hook, not abstract: most families build nothing
        """Build masks, kernels, matrices; raise :class:`SpecError` if the shape does not fit."""

    @classmethod
    def target_shape(cls, shape: Shape, values: Mapping[str, Value]) -> tuple[Shape, str | None]:
        """The clean-image shape this operator needs and how to get there: ``None`` (as is),
        ``"crop"`` (centre crop) or ``"resize"`` (antialiased). The problem builder applies it."""
        return shape, None

    @classmethod
    def clean_shape(cls, y_shape: Shape, values: Mapping[str, Value]) -> Shape:
        """The shape of x whose observation has ``y_shape`` (for a photo that is already degraded)."""
        return y_shape

    @abstractmethod
    def A(self, x: torch.Tensor) -> torch.Tensor:
        """Forward model, batched and differentiable."""

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Adjoint Aᵀ (linear operators only)."""
        raise NotImplementedError(f"{self.name} is not linear: it has no adjoint")

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        """The natural first estimate of x from y (Aᵀy unless a family knows better)."""
        return self.A_adjoint(y) if self.linear else y

    def observe(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """y = A(x) + n with the seeded noise model."""
        with torch.no_grad():
            return self.noise.sample(self.A(x), generator)

    def preview(self, y: torch.Tensor) -> torch.Tensor:
        """y as an image of the clean image's shape, for display and 'degraded' metrics."""
        if tuple(y.shape[1:]) == self.shape:
            return y
        return self.initial(y)

    def measurement_mask(self) -> torch.Tensor | None:
        """1 where a measurement exists, 0 where the output of A is structurally zero (masks)."""
        return None

    def otf(self) -> torch.Tensor | None:
        """If A is a circular convolution: its transfer function on the ``rfft2`` grid, else None."""
        return None

    def project(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """Orthogonal projection of ``u`` onto {u : A u = y} when cheap, else None."""
        return None

    def consistent(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """``u`` corrected to explain ``y`` exactly, keeping what the data cannot see — the last step
        of a method whose prior fits only part of the data (a generator's face): the projection by
        default, None when there is none. Families whose natural correction is not the orthogonal
        one say so (colorization keeps u's colours and takes y's grey levels)."""
        return self.project(u, y)

    def equivalent_sigma(self) -> float:
        """The noise level (0–1 scale) that the information this operator destroys is worth to a
        regulariser, besides the actual noise: missing pixels, aliasing from skipped k-space lines,
        lost high frequencies. Problem-aware defaults use σ_eff = √(σ² + σ_eq²), so a noiseless
        inpainting problem is not regularised as if nothing were missing. 0 for operators that
        keep every degree of freedom (denoising, blur, tone curves). Each family states its rule
        and how it was fitted (best λ of TV and Tikhonov on training photos, ``benchmarks/DEFAULTS.md``).
        """
        return 0.0

    def lipschitz(self) -> float:
        """An upper estimate of ‖A‖² (the Lipschitz constant of ∇½‖A x − y‖²).

        Linear operators: 30 power iterations on AᵀA from a seeded start, plus 1 % margin.
        Non-linear families override this with an analytic bound.
        """
        if not self.linear:
            raise NotImplementedError(f"{self.name} must define lipschitz()")
        g = torch.Generator().manual_seed(self.seed + 7919)
        v = torch.randn((1, *self.shape), generator=g).to(self.device)
        lam = 0.0
        with torch.no_grad():
            for _ in range(30):
                v = v / v.norm()
                w = self.A_adjoint(self.A(v))
                lam = float((v * w).sum())
                v = w
        return 1.01 * lam

    # --- shared helpers ----------------------------------------------------------------------
    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU generator seeded from the problem seed (``offset`` separates uses)."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + offset)

    def config(self) -> dict[str, Any]:
        """``{"name": ..., **values}`` — enough to rebuild this operator with the same seed."""
        return {"name": self.name, **self.values}

    def describe(self) -> str:
        """Label, the parameters that apply (never a server path: a painted mask is "mask=file"), noise."""
        shown = {p.name for p in self.params if p.used(self.values) and not p.server_path}
        vals = ", ".join(f"{k}={_short(v)}" for k, v in self.values.items() if k in shown)
        return f"{self.label} ({vals}; {self.noise.describe()})"

    def fail(self, message: str) -> SpecError:
        return SpecError(f"{self.name}: {message}")


def _short(v: object) -> str:
    """A value as a person writes it: 1/30 as 0.0333333, not 0.033333333333333333."""
    return f"{v:.6g}" if isinstance(v, float) else str(v)


DEGRADATIONS: Registry[Degradation] = Registry("degradation")
