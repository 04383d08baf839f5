"""A degradation that is a neural network: y = φ(x) + n with φ a fixed, trained convolutional encoder."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from arena.degradations.base import DEGRADATIONS, Degradation, Shape, noise_param
from arena.errors import SpecError
from arena.params import Value


@DEGRADATIONS.register
class NetworkEncoder(Degradation):
    """y = φ(x) + n, φ a small trained CNN (``weights/encoder.safetensors``): RGB → a 4-channel code
    in (0, 1) at half resolution, through ReLUs and a sigmoid.

    The forward model is known and differentiable but is itself a network — the non-linear case
    where the degradation is learned (semantic image synthesis inverts a segmentation net the same
    way). Every method that needs only φ and autograd runs on it; the natural inverse is the
    decoder trained jointly with φ (a learned direct inverse), which the iterative methods start
    from and refine against the data. Gray images are encoded as three equal channels.
    """

    name = "encoder"
    order = 110
    label = "A network as A (learned encoder)"
    linear = False
    observable = False
    params = (noise_param(2.0),)
    weights = ("encoder.safetensors",)

    def setup(self) -> None:
        from arena.nets.encoder import load_codec

        c, h, w = self.shape
        if h % 2 or w % 2:
            raise SpecError(f"encoder: the image must have even sides, not {w}×{h}")
        self.encoder, self.decoder, meta = load_codec(device=str(self.device))
        self.bound = float(meta.get("lipschitz", 1.0))

    @classmethod
    def target_shape(cls, shape: Shape, values: Mapping[str, Value]) -> tuple[Shape, str | None]:
        c, h, w = shape
        return (c, h - h % 2, w - w % 2), "crop"

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x)

    def initial(self, y: torch.Tensor) -> torch.Tensor:
        """The decoder trained with φ: a learned inverse, the start every method refines."""
        with torch.no_grad():
            x = self.decoder(y).clamp(0, 1)
        return x.mean(dim=1, keepdim=True) if self.shape[0] == 1 else x

    def equivalent_sigma(self) -> float:
        """0: on central 128² crops of the encoder's training photos, TV's best λ was the rule's value
        at σ_eq = 0; with σ_eq = the decoder's RMS error λ came out 50× too large
        (``benchmarks/RULES.md``, encoder)."""
        return 0.0

    def lipschitz(self) -> float:
        """‖J_φ‖² measured by power iteration when φ was trained (its checkpoint records it); a grey
        image enters as three equal channels, x ↦ (x, x, x), whose norm² is 3, so ‖J_φ E‖² ≤ 3‖J_φ‖²
        (with ‖J_φ‖² alone, gradient steps on a grey photo diverged: ``benchmarks/RULES.md``, encoder)."""
        return self.bound * (3.0 if self.shape[0] == 1 else 1.0)
