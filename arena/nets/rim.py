"""Learned iterative restoration networks: the Recurrent Inference Machine and a DnCNN denoiser.

RIM (Putzky & Welling, 2017): x_{t+1} = x_t + g_ω(∇_x L(y, x_t), x_t, h_t) with a convolutional
recurrent cell g_ω — the paper's conv → ConvGRU → conv → ConvGRU → conv, narrowed to 16 channels
for a CPU. It sees the problem only through the likelihood gradient, so one trained network runs on
any forward model. Every colour channel is processed as its own grey image (channels folded into
the batch): the cell is small and the same weights serve grey and colour images; channels
interact only through the gradient (e.g. for colorization).

The same cell fed with the first estimate x₀ instead of the gradient is the *direct* baseline: it
never sees A, so it is trained for one degradation and must be retrained for each new one.

DnCNN (Zhang, Zuo, Chen, Meng & Zhang, IEEE TIP 2017): residual learning D(x) = x − R(x), where R
is a stack of 3×3 convolutions + BN + ReLU; ours is 8 layers of 32 channels, trained blind over
σ ∈ [0, 55]/255.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from arena.errors import SpecError
from arena.nets.checkpoint import fill, read_checkpoint, save_checkpoint
from arena.resources import WEIGHTS

DEFAULT_RIM = WEIGHTS / "rim.safetensors"
DEFAULT_DIRECT = WEIGHTS / "direct_deblur.safetensors"
DEFAULT_DNCNN = WEIGHTS / "dncnn.safetensors"
DEFAULT_LGN = WEIGHTS / "lgn.safetensors"


class ConvGRU(nn.Module):
    """Convolutional GRU: h' = (1 − u) ⊙ h + u ⊙ tanh(W_c * [x, r ⊙ h]), with gates
    u, r = σ(W_g * [x, h]) (Ballas et al., 2016)."""

    def __init__(self, cin: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(cin + hidden, 2 * hidden, 3, padding=1)
        self.cand = nn.Conv2d(cin + hidden, hidden, 3, padding=1)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        u, r = torch.sigmoid(self.gates(torch.cat([x, h], 1))).chunk(2, 1)
        c = torch.tanh(self.cand(torch.cat([x, r * h], 1)))
        return (1 - u) * h + u * c


@dataclass(frozen=True)
class RimConfig:
    """Architecture of the recurrent cell; ``inputs`` is ``gradient`` (RIM), ``start`` (direct) or
    ``gauss_newton`` (learned Gauss–Newton, fed a direction from ``cg`` CG steps on the normal equations)."""

    hidden: int = 16
    steps: int = 8
    inputs: str = "gradient"
    cg: int = 0

    def __post_init__(self) -> None:
        if self.inputs not in ("gradient", "start", "gauss_newton"):
            raise ValueError(f"inputs must be gradient, start or gauss_newton, not {self.inputs!r}")
        if (self.inputs == "gauss_newton") != (self.cg > 0):
            raise ValueError("a gauss_newton cell needs cg ≥ 1 CG steps, and only it")


class RimCell(nn.Module):
    """One step's update Δx = g_ω(feature, x_t, σ; h_t), per grey channel."""

    def __init__(self, cfg: RimConfig) -> None:
        super().__init__()
        k = cfg.hidden
        self.cfg = cfg
        self.inp = nn.Sequential(nn.Conv2d(3, k, 3, padding=1), nn.Tanh())
        self.gru1 = ConvGRU(k, k)
        self.mid = nn.Sequential(nn.Conv2d(k, k, 3, padding=1), nn.ReLU())
        self.gru2 = ConvGRU(k, k)
        self.out = nn.Conv2d(k, 1, 3, padding=1)

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero hidden states for a folded ``(N·C, 1, H, W)`` batch."""
        z = x.new_zeros(x.shape[0], self.cfg.hidden, *x.shape[-2:])
        return z, z.clone()

    def forward(self, x: torch.Tensor, feature: torch.Tensor, sigma: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x, feature: ``(N·C, 1, H, W)``; sigma: ``(N·C, 1, 1, 1)`` noise level (0–1 scale)."""
        a = self.inp(torch.cat([x, feature, sigma.expand_as(x)], 1))
        h1 = self.gru1(a, state[0])
        h2 = self.gru2(self.mid(h1), state[1])
        return x + self.out(h2), (h1, h2)


def fold(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N·C, 1, H, W): every channel a grey image."""
    return x.reshape(-1, 1, *x.shape[-2:])


def unfold(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`fold`."""
    return x.reshape(like.shape)


class DnCNN(nn.Module):
    """D(x) = x − R(x): ``depth`` 3×3 conv layers, BN + ReLU in between, per grey channel."""

    def __init__(self, depth: int = 8, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU(True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.residual = nn.Sequential(*layers)
        self.depth, self.width = depth, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Denoise ``(N, C, H, W)`` images, each channel on its own."""
        f = fold(x)
        return unfold(f - self.residual(f), x)


def save_rim(path: Path, cell: RimCell, meta: dict[str, str]) -> None:
    """Write a RIM or direct-baseline cell with its architecture."""
    save_checkpoint(path, {"cell": cell}, asdict(cell.cfg), meta)


def load_rim(path: Path | str, device: torch.device | str = "cpu") -> tuple[RimCell, dict[str, str]]:
    """A trained cell in eval mode and its metadata (:class:`SpecError` on a bad file)."""
    tensors, config, meta = read_checkpoint(path, "train it with `python -m training.train_rim`")
    name = Path(path).name
    try:
        cell = RimCell(RimConfig(**config))
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{name}: its metadata does not describe a RIM cell ({e})") from None
    fill(cell, "cell", tensors, name)
    return cell.eval().requires_grad_(False).to(device), meta


def save_dncnn(path: Path, net: DnCNN, meta: dict[str, str]) -> None:
    """Write a DnCNN with its depth and width."""
    save_checkpoint(path, {"dncnn": net}, {"depth": net.depth, "width": net.width}, meta)


def load_dncnn(path: Path | str = DEFAULT_DNCNN, device: torch.device | str = "cpu") -> tuple[DnCNN, dict[str, str]]:
    """A trained DnCNN in eval mode and its metadata (:class:`SpecError` on a bad file)."""
    tensors, config, meta = read_checkpoint(path, "train it with `python -m training.train_rim --only dncnn`")
    name = Path(path).name
    try:
        net = DnCNN(**config)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{name}: its metadata does not describe a DnCNN ({e})") from None
    fill(net, "dncnn", tensors, name)
    return net.eval().requires_grad_(False).to(device), meta


@lru_cache(maxsize=2)
def load_dncnn_cached(device: str) -> DnCNN:
    """The shipped DnCNN on ``device``, loaded once."""
    return load_dncnn(DEFAULT_DNCNN, device)[0]
