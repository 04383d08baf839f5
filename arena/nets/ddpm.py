"""A small denoising-diffusion model: ε_θ(x_t, t) for 64×64 colour images (Ho, Jain & Abbeel 2020).

The forward process x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε, ε ~ N(0, I), with the linear schedule
β_t ∈ [10⁻⁴, 0.02] over T = 1000 steps and ᾱ_t = Π_{s≤t}(1 − β_s); the network predicts ε from
(x_t, t) and is trained by ‖ε − ε_θ(x_t, t)‖². Images live in [−1, 1] inside the model. The
U-Net: residual blocks (GroupNorm, SiLU, 3×3 convolutions, the time embedding added in between),
one per level, strided-conv down, nearest-neighbour up, skips concatenated.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from arena.errors import SpecError
from arena.nets.checkpoint import fill, read_checkpoint, save_checkpoint
from arena.resources import WEIGHTS

DEFAULT_DDPM = WEIGHTS / "ddpm_faces.safetensors"
T = 1000


def alpha_bar(device: torch.device | str = "cpu") -> torch.Tensor:
    """ᾱ_t for t = 0 … T−1 (linear β schedule, Ho et al.), float64 for exact square roots."""
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64, device=device)
    return torch.cumprod(1.0 - betas, 0)


def _timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


class Block(nn.Module):
    """GN → SiLU → conv, + the time embedding, GN → SiLU → conv, plus the (1×1-projected) input."""

    def __init__(self, c_in: int, c_out: int, t_dim: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(t_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.time(emb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class DiffusionUNet(nn.Module):
    """ε_θ(x_t, t) for ``(N, 3, H, W)`` images in [−1, 1], H and W multiples of 2^(levels−1)."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 96, 128)) -> None:
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        t_dim = 4 * widths[0]
        self.t_mlp = nn.Sequential(nn.Linear(widths[0], t_dim), nn.SiLU(), nn.Linear(t_dim, t_dim))
        self.head = nn.Conv2d(3, widths[0], 3, padding=1)
        self.down = nn.ModuleList(Block(a, b, t_dim) for a, b in zip((widths[0], *widths[:-1]), widths, strict=True))
        self.pool = nn.ModuleList(nn.Conv2d(w, w, 3, stride=2, padding=1) for w in widths[:-1])
        self.mid = nn.ModuleList([Block(widths[-1], widths[-1], t_dim), Block(widths[-1], widths[-1], t_dim)])
        ups = list(reversed(widths))
        self.up = nn.ModuleList(Block(a + b, b, t_dim) for a, b in zip((ups[0], *ups[:-1]), ups, strict=True))
        self.unpool = nn.ModuleList(nn.Conv2d(w, w, 3, padding=1) for w in ups[:-1])
        self.tail = nn.Sequential(nn.GroupNorm(8, widths[0]), nn.SiLU(), nn.Conv2d(widths[0], 3, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.t_mlp(_timestep_embedding(t.expand(x.shape[0]), self.widths[0]))
        h, skips = self.head(x), []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        for block in self.mid:
            h = block(h, emb)
        for i, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], 1), emb)
            if i < len(self.unpool):
                h = self.unpool[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.tail(h)


def save_ddpm(path: Path, net: DiffusionUNet, meta: dict[str, str]) -> None:
    """Write ε_θ with its widths."""
    save_checkpoint(path, {"eps": net}, {"widths": list(net.widths), "T": T, "schedule": "linear 1e-4..0.02"}, meta)


def load_ddpm(path: Path | str = DEFAULT_DDPM,
              device: torch.device | str = "cpu") -> tuple[DiffusionUNet, dict[str, str]]:
    """A trained ε_θ in eval mode and its metadata (:class:`SpecError` on a bad file)."""
    tensors, config, meta = read_checkpoint(path, "train it with `python -m training.train_ddpm`")
    name = Path(path).name
    try:
        net = DiffusionUNet(tuple(config["widths"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"{name}: its metadata does not describe a diffusion U-Net ({e})") from None
    if int(config.get("T", T)) != T:
        raise SpecError(f"{name}: trained with T = {config['T']} steps; the arena's schedule has T = {T}")
    fill(net, "eps", tensors, name)
    return net.eval().requires_grad_(False).to(device), meta


@lru_cache(maxsize=2)
def load_ddpm_cached(path: str, device: str) -> DiffusionUNet:
    """A DDPM checkpoint on ``device``, loaded once."""
    return load_ddpm(path, device)[0]
