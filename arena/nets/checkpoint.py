"""Safetensors checkpoints for the arena's trained networks: tensors only, facts in the metadata.

Safetensors holds no pickled code, so loading a user's file cannot run anything. Every tensor's
name and shape is checked against the architecture before use, so a wrong-architecture, truncated
or corrupt file gives one sentence saying what does not match, never a stack trace.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from arena.errors import SpecError


def save_checkpoint(path: Path, nets: dict[str, nn.Module], config: dict, meta: dict[str, str]) -> None:
    """Write ``nets`` (prefix → module) to one file, ``config`` (the architecture) as JSON metadata."""
    from safetensors.torch import save_file

    tensors = {f"{prefix}.{k}": v.detach().cpu().contiguous()
               for prefix, net in nets.items() for k, v in net.state_dict().items()}
    save_file(tensors, str(path), metadata={"config": json.dumps(config), **meta})


def read_checkpoint(path: Path | str, how_to_train: str) -> tuple[dict[str, torch.Tensor], dict, dict[str, str]]:
    """(tensors, architecture config, metadata) of a checkpoint; :class:`SpecError` if unreadable."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"no checkpoint at {path}; {how_to_train}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        config = json.loads(meta.pop("config", "{}"))
    except (SafetensorError, OSError, ValueError) as e:
        raise SpecError(f"{path.name} is not a readable safetensors checkpoint ({e})") from None
    if not isinstance(config, dict):
        raise SpecError(f"{path.name}: its metadata holds no architecture")
    return tensors, config, meta


def fill(net: nn.Module, prefix: str, tensors: dict[str, torch.Tensor], name: str) -> None:
    """Load ``prefix.*`` tensors into ``net`` after checking names, shapes and finiteness."""
    expected = net.state_dict()
    got = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    missing = sorted(set(expected) - set(got))
    wrong = [k for k in expected if k in got and got[k].shape != expected[k].shape]
    extra = sorted(set(got) - set(expected))
    if missing or wrong or extra:
        if missing:
            what = f"missing {', '.join(missing[:3])}"
        elif wrong:
            what = f"{wrong[0]} has shape {tuple(got[wrong[0]].shape)}, expected {tuple(expected[wrong[0]].shape)}"
        else:
            what = f"unexpected {', '.join(extra[:3])}"
        raise SpecError(f"{name} does not match the {type(net).__name__} architecture ({prefix}: {what})")
    if not all(torch.isfinite(v).all() for v in got.values() if v.is_floating_point()):
        raise SpecError(f"{name} holds non-finite weights")
    net.load_state_dict(got)
