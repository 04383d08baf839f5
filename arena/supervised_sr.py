"""Supervised ×4 super-resolution networks as methods: one forward pass, no knowledge of A at run time.

Shared by ``srresnet`` (trained with the MSE: the best PSNR, blurry) and ``srgan`` (VGG features +
adversarial: sharper, invented texture) — the perception–distortion trade-off of Ledig et al.
(CVPR 2017) and Blau & Michaeli (CVPR 2018). Like ``direct``, each network knows only the
degradation it was trained on (the arena's ``sr`` at ×4, no noise) and refuses every other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import torch

from arena.errors import SpecError
from arena.method import Method, Step
from arena.nets.srresnet import load_srresnet_cached
from arena.params import Param
from arena.problem import Problem


class SupervisedSR(Method):
    """Base of the SR-network methods (not registered itself): ``default`` is the shipped file."""

    default: ClassVar[Path]
    heavy = True
    iterative = False
    params = (
        Param("weights", "", "a .safetensors network from training/train_sr.py (empty: the shipped one)",
              server_path=True),
    )

    def _net(self, weights: str, device: str):
        if weights and not weights.endswith(".safetensors"):
            raise SpecError(f"weights={weights!r}: give a .safetensors file written by training/train_sr.py")
        return load_srresnet_cached(str(Path(weights).expanduser() if weights else self.default), device)

    def supports(self, problem: Problem) -> str | None:
        try:
            net, _ = self._net("", "cpu")
        except SpecError as exc:
            return str(exc)
        values = problem.degradation.values
        if problem.degradation.name != "sr" or int(values.get("factor", 0)) != net.factor:
            return (f"trained only for super-resolution ×{net.factor}; a supervised network knows nothing about "
                    f"{problem.degradation.name}"
                    f"{'' if problem.degradation.name != 'sr' else ' ×' + str(values['factor'])} "
                    "and must be retrained for it (tv, dip or rim run on any degradation)")
        return None

    def warning(self, problem: Problem) -> str | None:
        noise = float(problem.degradation.values.get("noise", 0.0))
        return f"warning: trained without noise, this y has noise {noise:g}; expect it amplified" if noise > 0 else None

    def run(self, problem: Problem, *, weights: str, ensemble: bool = False) -> Iterator[Step]:
        net, meta = self._net(weights, str(problem.device))
        if int(problem.degradation.values.get("factor", 0)) != net.factor:
            raise SpecError(f"this network was trained for ×{net.factor}, "
                            f"not ×{problem.degradation.values.get('factor')}")
        with torch.no_grad():
            x = self_ensemble(net, problem.y) if ensemble else net(problem.y)
        yield Step(1, x, {"loss": float(problem.fidelity(x))})


def ensemble_param(default: bool) -> Param:
    """Geometric self-ensemble: on for the MSE network (averaging lowers the MSE it minimises), off
    for the perceptual one (averaging blurs the texture it invents)."""
    return Param("ensemble", default, "average the network's outputs over the 8 flips and quarter turns of y "
                 "(geometric self-ensemble, Timofte et al. 2016): 8 forward passes, a lower MSE, softer texture")


def self_ensemble(net: torch.nn.Module, y: torch.Tensor) -> torch.Tensor:
    """(1/8) Σ_g g⁻¹(f(g y)) over the dihedral group of the square (4 quarter turns × a flip): the
    ×4 operator commutes with each g on square pixels, so every g y is a valid input.

    References
    ----------
    Timofte, Rothe & Van Gool, Seven Ways to Improve Example-Based Single Image Super Resolution,
    CVPR 2016 (§2.1); Lim et al., EDSR, CVPRW 2017 (the "+" models).
    """
    outs = []
    for k in range(4):
        for flip in (False, True):
            g = torch.rot90(y, k, (2, 3))
            f = net(g.flip(3) if flip else g)
            outs.append(torch.rot90(f.flip(3) if flip else f, -k, (2, 3)))
    return torch.stack(outs).mean(0)
