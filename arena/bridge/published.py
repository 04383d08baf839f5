"""The field's published weight files, as DeepInverse distributes them, in the standard torch hub cache.

Each entry names the file deepinv's ``pretrained="download"`` would fetch, the URL, the licence and
source as their publishers state them, and how to build the architecture. Nothing here downloads on
its own: a method that needs an absent file refuses before any network access (:func:`missing`), in
one sentence naming ``arena weights fetch NAME`` (a connected machine) and the path to copy the file
to; only :func:`fetch` (``arena weights fetch``) opens a connection, with a short timeout.

The cache is deepinv's and torch's: ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``,
by default ``~/.cache/torch/hub/checkpoints``), so a file fetched by deepinv itself, by ``arena weights
fetch`` or copied by hand serves all of them.

Loading: the architecture is built with random (or no) weights and the file is read with
``torch.load(weights_only=True)`` — tensors only, no pickled code — then every tensor the network
needs is checked by name and shape, so a wrong, truncated or corrupt file is one sentence, never a
stack trace.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from arena.errors import SpecError

HF = "https://huggingface.co/deepinv/{repo}/resolve/main/{file}?download=true"
"""deepinv's ``get_weights_url``."""
TIMEOUT_S = 10.0
"""Seconds ``fetch`` waits for the server to answer (and between bytes): offline, it fails at once."""


@dataclass(frozen=True)
class Published:
    """A published weight file.

    Attributes
    ----------
    name : the arena's key (``arena weights fetch NAME``)
    file : its name in the torch hub cache (deepinv's ``file_name``)
    url : where deepinv 0.5 downloads it from
    size_mb : about how large it is (float32 parameters of the architecture; the server's size when known)
    licence, source : as the publishers state them (``unknown`` where they do not)
    reference : the paper
    sha256 : the file's hash if it is published, else None (``arena weights --check`` then prints it)
    architecture : what :func:`load` builds (``deepinv.models`` class and arguments), in words
    """

    name: str
    file: str
    url: str
    size_mb: float
    licence: str
    source: str
    reference: str
    architecture: str
    sha256: str | None = None


PUBLISHED: dict[str, Published] = {p.name: p for p in (
    Published("drunet-color", "drunet_deepinv_color_finetune_22k.pth",
              HF.format(repo="drunet", file="drunet_deepinv_color_finetune_22k.pth"), 130.6,
              "BSD-3-Clause (model card of huggingface.co/deepinv/drunet)",
              "DeepInverse's fine-tune of DPIR's DRUNet (colour, σ as an input)",
              "Zhang, Li, Zuo, Zhang, Van Gool & Timofte, Plug-and-Play Image Restoration with Deep Denoiser "
              "Prior, IEEE TPAMI 2021", "DRUNet(in_channels=3, out_channels=3)"),
    Published("drunet-gray", "drunet_deepinv_gray_finetune_26k.pth",
              HF.format(repo="drunet", file="drunet_deepinv_gray_finetune_26k.pth"), 130.6,
              "BSD-3-Clause (model card of huggingface.co/deepinv/drunet)",
              "DeepInverse's fine-tune of DPIR's DRUNet (grey, σ as an input)",
              "Zhang et al., Plug-and-Play Image Restoration with Deep Denoiser Prior, IEEE TPAMI 2021",
              "DRUNet(in_channels=1, out_channels=1)"),
    Published("ram", "ram.pth.tar", "https://huggingface.co/mterris/ram/resolve/main/ram.pth.tar", 142.5,
              "BSD-3-Clause (model card of huggingface.co/deepinv/ram; deepinv 0.5 downloads the file from "
              "huggingface.co/mterris/ram)",
              "the RAM authors' checkpoint, trained on many linear problems (deblurring, SR, inpainting, MRI, CT, …)",
              "Terris, Hurault, Song & Moreau, Reconstruct Anything Model: a lightweight foundation model for "
              "computational imaging, 2025", "RAM(in_channels=(1, 2, 3))"),
    Published("scunet-color", "scunet_color_real_psnr.pth",
              HF.format(repo="scunet", file="scunet_color_real_psnr.pth"), 71.8,
              "Apache-2.0 as stated by the authors' repository github.com/cszn/SCUNet (deepinv's copy states none)",
              "the SCUNet authors' blind real-noise model (PSNR version), copied to huggingface.co/deepinv/scunet",
              "Zhang, Li, Liang, Cao, Zhang, Tang, Timofte & Van Gool, Practical Blind Image Denoising via "
              "Swin-Conv-UNet and Data Synthesis, Machine Intelligence Research 2023", "SCUNet(in_nc=3)"),
    Published("diffunet-ffhq", "diffusion_ffhq_10m.pt", HF.format(repo="diffunet", file="diffusion_ffhq_10m.pt"), 374.3,
              "unknown: deepinv states none; the model is DPS's FFHQ 256 diffusion model (code MIT), trained "
              "on FFHQ (images CC BY-NC-SA 4.0)",
              "DPS's unconditional FFHQ 256×256 model, as DiffPIR uses it",
              "Chung, Kim, Mccann, Klasky & Ye, Diffusion Posterior Sampling for General Noisy Inverse Problems, "
              "ICLR 2023; Zhu et al., DiffPIR, CVPRW 2023", "DiffUNet(large_model=False)"),
    Published("diffunet-imagenet", "diffusion_openai.pt", HF.format(repo="diffunet", file="diffusion_openai.pt"),
              2211.3, "MIT (OpenAI guided-diffusion); trained on ImageNet",
              "OpenAI's unconditional ImageNet 256×256 model",
              "Dhariwal & Nichol, Diffusion Models Beat GANs on Image Synthesis, NeurIPS 2021",
              "DiffUNet(large_model=True)"),
)}


def cache_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints``, where torch and deepinv keep downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def get(name: str) -> Published:
    if name not in PUBLISHED:
        raise SpecError(f"unknown published weight file {name!r}; valid names: {', '.join(PUBLISHED)}")
    return PUBLISHED[name]


def path(name: str) -> Path:
    """Where the file of ``name`` is (or would be) in the cache."""
    return cache_dir() / get(name).file


def missing(names: Iterable[str]) -> str | None:
    """None if every file is in the cache and deepinv is installed, else one sentence saying what to do."""
    from arena.bridge.physics import deepinv_missing

    why = deepinv_missing()
    if why:
        return why
    absent = [n for n in names if not path(n).is_file()]
    if not absent:
        return None
    files = " and ".join(str(path(n)) for n in absent)
    return (f"the published weights {', '.join(absent)} are not on this machine and nothing is downloaded "
            f"during a run: on a connected machine run `arena weights fetch {' '.join(absent)}`, "
            f"or copy the file{'s' if len(absent) > 1 else ''} to {files}")


def require(name: str) -> Path:
    """The cached file of ``name``; :class:`SpecError` with :func:`missing`'s sentence if absent."""
    why = missing([name])
    if why:
        raise SpecError(why)
    return path(name)


def sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name: str, *, timeout: float = TIMEOUT_S, progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download ``name`` into the cache (atomically: a partial file never takes the final name).

    Raises
    ------
    SpecError
        One sentence when the server cannot be reached (offline), answers with an error, or the file's
        hash differs from the published one.
    """
    entry = get(name)
    target = path(name)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{entry.file}.", dir=target.parent)
    try:
        request = urllib.request.Request(entry.url, headers={"User-Agent": "restoration-arena"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while block := response.read(1 << 20):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if entry.sha256 and (got := sha256(Path(tmp))) != entry.sha256:
            raise SpecError(f"{name}: the downloaded file's sha256 is {got}, not the published {entry.sha256}; "
                            "it was not kept")
        shutil.move(tmp, target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SpecError(f"could not download {name} from {entry.url.split('?')[0]} ({reason}); on a machine with "
                        f"internet run `arena weights fetch {name}` and copy {entry.file} to {target}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _build(name: str) -> torch.nn.Module:
    """The architecture of ``name`` with placeholder weights (on the meta device where it can be:
    DRUNet's random initialisation alone takes 13 s on a 2-core CPU)."""
    from deepinv.models import RAM, DiffUNet, DRUNet, SCUNet

    makers: dict[str, Callable[[], torch.nn.Module]] = {
        "drunet-color": lambda: DRUNet(3, 3, pretrained=None),
        "drunet-gray": lambda: DRUNet(1, 1, pretrained=None),
        "ram": lambda: RAM(in_channels=(1, 2, 3), pretrained=None),
        "scunet-color": lambda: SCUNet(in_nc=3, pretrained=None),
        "diffunet-ffhq": lambda: DiffUNet(3, 6, large_model=False, pretrained=None),
        "diffunet-imagenet": lambda: DiffUNet(3, 6, large_model=True, pretrained=None),
    }
    if name.startswith("scunet"):  # its constructor computes with tensors: no meta device
        return makers[name]()
    with torch.device("meta"):
        return makers[name]()


def _derived_buffers(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Buffers a network computes in its constructor rather than reads from its checkpoint (the
    published files do not hold them): DiffUNet's noise schedule, recomputed here because the
    architecture was built on the meta device."""
    if hasattr(net, "get_alpha_prod") and hasattr(net, "sqrt_alphas_cumprod"):
        with torch.device("cpu"):
            sqrt_1m, sqrt_ab = net.get_alpha_prod()[-2:]
        return {"sqrt_1m_alphas_cumprod": sqrt_1m, "sqrt_alphas_cumprod": sqrt_ab}
    return {}


def state_dict(file: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint, read without running pickled code (``{"params": …}`` unwrapped)."""
    try:
        sd: Any = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 — any unreadable file is one sentence
        raise SpecError(f"{file} is not a readable torch checkpoint ({type(exc).__name__}: {str(exc)[:120]}); "
                        "delete it and fetch it again") from None
    for key in ("params", "state_dict"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise SpecError(f"{file} holds no state dict of tensors")
    return sd


def load(name: str, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The network of ``name`` with its published weights, in eval mode (cached per file version).

    Raises
    ------
    SpecError
        File absent (:func:`missing`'s sentence), unreadable, or not of this architecture.
    """
    file = require(name)
    st = file.stat()
    return _load(name, str(file), st.st_size, st.st_mtime_ns, str(device))


@lru_cache(maxsize=4)
def _load(name: str, file: str, size: int, mtime_ns: int, device: str) -> torch.nn.Module:
    sd = state_dict(Path(file))
    net = _build(name)
    derived = _derived_buffers(net)
    expected = {k: v for k, v in net.state_dict().items() if k not in derived}
    absent = [k for k in expected if k not in sd]
    wrong = [k for k in expected if k in sd and tuple(sd[k].shape) != tuple(expected[k].shape)]
    if absent or wrong:
        what = (f"missing {', '.join(absent[:3])}" if absent else
                f"{wrong[0]} has shape {tuple(sd[wrong[0]].shape)}, expected {tuple(expected[wrong[0]].shape)}")
        raise SpecError(f"{Path(file).name} does not match {get(name).architecture} ({what}); "
                        f"delete it and run `arena weights fetch {name}`")
    net.load_state_dict({**{k: sd[k] for k in expected}, **derived}, strict=True, assign=True)
    left = [n for n, t in (*net.named_parameters(), *net.named_buffers()) if t.is_meta]
    if left:
        raise SpecError(f"{Path(file).name}: {left[0]} was not filled by the checkpoint")
    return net.float().to(device).eval()


def present() -> dict[str, bool]:
    """Which published files are in the cache now."""
    return {n: path(n).is_file() for n in PUBLISHED}

