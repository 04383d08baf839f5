"""The deepinv bridge: the degradation → LinearPhysics adapter against deepinv's own operators, the
published weights offline (one sentence, exit code 2, nothing downloaded) and, with checkpoints of the
right architecture (random weights) in a temporary torch hub cache, the published methods end to end
through the CLI and the app's handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from arena import cli
from arena.bridge import published as pub
from arena.degradations import DEGRADATIONS
from arena.errors import SpecError
from arena.method import METHODS, load_methods
from arena.problem import make_problem

load_methods()
ROOT = Path(__file__).resolve().parents[1]
ARENA = [sys.executable, "-m", "arena.cli"]
try:
    import deepinv as dinv
except ImportError:  # the core runs without it; these tests need it (the dev extra installs it)
    dinv = None
needs_deepinv = pytest.mark.skipif(dinv is None, reason='needs pip install "restoration-arena[deepinv]"')
TOL = 1e-5


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def degradation(name: str, values: dict, shape=(3, 32, 32)):
    x = torch.rand(1, *shape, generator=torch.Generator().manual_seed(1))
    problem, clean, _ = make_problem(x, name, values, seed=3)
    return problem.degradation, clean


# --- the adapter against deepinv's operators ------------------------------------------------------

def _sr_filter(d, f: int) -> torch.Tensor:
    """Our SR filter from its impulse response (the circular convolution of a delta), on a centred odd grid."""
    from arena.degradations.convolution import apply

    h, w = d.shape[1:]
    delta = torch.zeros(1, 1, h, w)
    delta[..., 0, 0] = 1
    r = 3 * f
    k = torch.roll(apply(delta, d._otf), (r, r), (-2, -1))[..., : 2 * r + 1, : 2 * r + 1]
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-5), "the window holds the whole filter"
    return k


def _native(name: str, values: dict, d):
    """deepinv's own operator for our degradation, with the options that match our conventions."""
    c, h, w = d.shape
    if name == "blur":
        k = d.kernel[None, None]
        if values.get("boundary") == "valid":
            return [dinv.physics.Blur(filter=k, padding="valid")]
        return [dinv.physics.Blur(filter=k, padding="circular"), dinv.physics.BlurFFT(img_size=(c, h, w), filter=k)]
    if name == "sr":
        f = int(values["factor"])
        return [dinv.physics.Downsampling(img_size=(c, h, w), filter=_sr_filter(d, f), factor=f, padding="circular")]
    if name == "inpaint":
        return [dinv.physics.Inpainting(img_size=(c, h, w), mask=d.mask[0].expand(c, h, w).clone())]
    if name == "denoise":
        return [dinv.physics.Denoising()]
    raise AssertionError(name)


CASES = [
    ("blur", {"kernel": "gaussian", "noise": 0}), ("blur", {"kernel": "motion", "angle": 30, "noise": 0}),
    ("blur", {"kernel": "motion", "angle": 30, "boundary": "valid", "noise": 0}),
    ("sr", {"factor": 2}), ("sr", {"factor": 4}), ("sr", {"factor": 8}),
    ("inpaint", {"mask": "random"}), ("inpaint", {"mask": "box"}), ("denoise", {}),
]


@needs_deepinv
@pytest.mark.parametrize("name,values", CASES, ids=[f"{n}-{'-'.join(map(str, v.values()))}" for n, v in CASES])
def test_adapter_agrees_with_deepinvs_own_operator(name, values):
    from arena.bridge.physics import to_physics

    d, x = degradation(name, values, (3, 64, 64))
    ours = to_physics(d)
    y = ours.A(x)
    v = torch.randn(y.shape, generator=torch.Generator().manual_seed(2))
    for native in _native(name, values, d):
        assert native.A(x).shape == y.shape
        assert rel(ours.A(x), native.A(x)) <= TOL, type(native).__name__
        assert rel(ours.A_adjoint(v), native.A_adjoint(v)) <= TOL, type(native).__name__


@needs_deepinv
def test_adapter_agrees_with_deepinvs_mri_up_to_its_centred_layout():
    """deepinv's MRI: complex images (B, 2, H, W), centred FFT S F S⁻¹ (S = fftshift). With the mask
    S(M): A_ours(x) = S⁻¹ A_deepinv(S x + 0i), Aᵀ_ours(y) = Re S⁻¹ Aᵀ_deepinv(S y)."""
    from arena.bridge.physics import to_physics

    d, x = degradation("mri", {"noise": 0}, (1, 32, 32))
    ours = to_physics(d)
    S = lambda t: torch.fft.fftshift(t, dim=(-2, -1))  # noqa: E731
    Si = lambda t: torch.fft.ifftshift(t, dim=(-2, -1))  # noqa: E731
    native = dinv.physics.MRI(mask=S(d.mask[0, 0]), img_size=(2, 32, 32))
    as_complex = torch.cat([S(x), torch.zeros_like(x)], dim=1)  # (1, 2, H, W): real, imaginary
    theirs = Si(native.A(as_complex)).permute(0, 2, 3, 1)[:, None]  # → (1, 1, H, W, 2), our layout
    assert rel(ours.A(x), theirs) <= TOL
    v = torch.randn(ours.A(x).shape, generator=torch.Generator().manual_seed(2)) * d.mask[..., None]
    back = Si(native.A_adjoint(S(v[:, 0].permute(0, 3, 1, 2))))[:, :1]
    assert rel(ours.A_adjoint(v), back) <= TOL


def test_deepinvs_bicubic_filter_is_ours_at_x2_and_shifted_at_x4():
    """What the adapter's docstring says about deepinv's filter="bicubic"."""
    if dinv is None:
        pytest.skip("needs deepinv")
    for f, shift in ((2, 0), (4, -1)):
        d, x = degradation("sr", {"factor": f}, (3, 64, 64))
        theirs = dinv.physics.Downsampling(img_size=d.shape, filter="bicubic", factor=f, padding="circular")
        assert rel(theirs.A(torch.roll(x, (shift, shift), (-2, -1))), d.A(x)) <= TOL
        if shift:
            assert rel(theirs.A(x), d.A(x)) > 1e-2


LINEAR = [d.name for d in DEGRADATIONS if d.linear]


@needs_deepinv
@pytest.mark.parametrize("name", LINEAR)
def test_adjointness_through_the_adapter(name):
    """⟨Ax, v⟩ = ⟨x, Aᵀv⟩ for every linear family, through deepinv's LinearPhysics."""
    from arena.bridge.physics import to_physics

    d, x = degradation(name, {}, (3, 32, 32))
    physics = to_physics(d)
    y = physics.A(x)
    v = torch.randn(y.shape, generator=torch.Generator().manual_seed(5))
    lhs, rhs = float((y * v).sum()), float((x * physics.A_adjoint(v)).sum())
    assert abs(lhs - rhs) <= TOL * max(abs(lhs), 1.0)
    assert rel(physics.A(x), d.A(x)) == 0.0


@needs_deepinv
def test_noise_models_carry_over():
    from arena.bridge.physics import to_physics

    d, x = degradation("denoise", {"sigma": 25}, (3, 64, 64))
    physics = to_physics(d)
    assert float(physics.noise_model.sigma) == pytest.approx(25 / 255)
    assert float((physics(x) - x).std()) == pytest.approx(25 / 255, rel=0.05)
    d, x = degradation("inpaint", {"noise": 10}, (3, 32, 32))
    n = to_physics(d)(x) - d.A(x)
    assert float(n[(d.mask == 0).expand_as(n)].abs().max()) == 0.0, "no noise where nothing is measured"
    assert float(to_physics(d).noise_model.sigma) == pytest.approx(10 / 255), "RAM reads σ through the mask"
    d, x = degradation("poisson", {"peak": 30}, (3, 64, 64))
    assert float(to_physics(d).noise_model.gain) == pytest.approx(1 / 30)
    assert float((to_physics(d)(x) - x).mean()).__abs__() < 0.01


# --- offline: refusals, listing, fetching -----------------------------------------------------------

@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to download fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_offline_a_published_method_refuses_in_one_sentence_with_code_2(tmp_path):
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch"), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run([*ARENA, "run", "--image", "camera", "--max-side", "32", "--degradation", "blur",
                          "--method", "tv", "--method", "ram", "--no-lpips", "--quiet"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ram: "), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    if dinv is not None:
        assert "arena weights fetch ram" in lines[0]
        assert str(tmp_path / "torch" / "hub" / "checkpoints" / "ram.pth.tar") in lines[0]


@needs_deepinv
@pytest.mark.parametrize("image,degr,method,needs", [
    ("camera", "blur", "pnp:denoiser=drunet-published", "drunet-gray"),
    ("astronaut", "inpaint", "red:denoiser=drunet-published", "drunet-color"),
    ("astronaut", "denoise", "scunet", "scunet-color"),
])
def test_every_published_choice_refuses_before_any_download(image, degr, method, needs, empty_cache, no_network, capsys):
    code = cli.main(["run", "--image", image, "--max-side", "16", "--degradation", degr, "--method", method,
                     "--no-lpips", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"arena weights fetch {needs}" in err[0] and str(empty_cache / pub.get(needs).file) in err[0]
    assert not empty_cache.exists() or not any(empty_cache.iterdir())


def test_without_deepinv_the_core_runs_and_a_bridge_method_says_how_to_install(tmp_path):
    code = ("import sys; sys.modules['deepinv'] = None\n"
            "from arena.method import load_methods, METHODS; load_methods()\n"
            "from arena.cli import main\n"
            "assert main(['weights']) == 0\n"
            "assert main(['run', '--image', 'camera', '--max-side', '16', '--degradation', 'denoise', '--method', 'tv:iterations=2', '--no-lpips', '--quiet']) == 0\n"
            "why = METHODS.get('ram').unavailable({})\n"
            "assert 'pip install \"restoration-arena[deepinv]\"' in why, why\n"
            "assert main(['run', '--image', 'camera', '--max-side', '16', '--degradation', 'blur', '--method', 'ram', '--quiet']) == 2\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "TORCH_HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "not installed" in out.stderr and "Traceback" not in out.stderr


def test_weights_lists_shipped_and_published_files_with_their_state(empty_cache, no_network, capsys):
    from arena.resources import WEIGHTS, recorded_hashes

    assert cli.main(["weights", "--json", "--check"]) == 0
    doc = json.loads(capsys.readouterr().out)
    shipped = {f["file"]: f for f in doc["shipped"]}
    assert set(shipped) == {p.name for p in WEIGHTS.glob("*.safetensors")} == set(recorded_hashes())
    assert all(f["check"] == "ok" for f in shipped.values()), "weights/SHA256SUMS is up to date"
    assert "pnp" in shipped["drunet.safetensors"]["used_by"]
    published = {f["name"]: f for f in doc["published"]}
    assert {"drunet-color", "drunet-gray", "ram", "scunet-color", "diffunet-ffhq"} <= set(published)
    assert not any(f["cached"] for f in published.values())
    assert published["ram"]["used_by"] == ["ram"] and "pnp (denoiser=drunet-published)" in published["drunet-color"]["used_by"]
    assert all(f["licence"] and f["source"] and f["url"].startswith("https://") for f in published.values())
    empty_cache.mkdir(parents=True)
    (empty_cache / pub.get("scunet-color").file).write_bytes(b"12345")
    assert cli.main(["weights"]) == 0
    text = capsys.readouterr().out
    assert "scunet_color_real_psnr.pth               cached, 0.0 MB" in text and "absent (≈142 MB)" in text


def test_a_shipped_file_that_changed_fails_the_check(tmp_path, monkeypatch, capsys):
    import arena.resources as res

    (tmp_path / "rim.safetensors").write_bytes(b"retrained")
    (tmp_path / res.SHA256SUMS).write_text("0" * 64 + "  rim.safetensors\n")
    monkeypatch.setattr(res, "WEIGHTS", tmp_path)
    assert cli.main(["weights", "--check"]) == 1
    assert "rim.safetensors" in capsys.readouterr().err


def test_fetch_offline_fails_in_one_sentence_and_leaves_no_partial_file(empty_cache, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert cli.main(["weights", "fetch", "ram"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: could not download ram") and "copy ram.pth.tar to" in err
    assert not any(empty_cache.iterdir())
    assert cli.main(["weights", "fetch", "nothing"]) == 2
    assert "valid names: drunet-color" in capsys.readouterr().err


def test_fetch_writes_the_file_under_its_cache_name(empty_cache, monkeypatch):
    import io

    seen = {}

    class Response(io.BytesIO):
        headers = {"Content-Length": "6"}

    def serve(request, timeout):
        seen["url"], seen["timeout"] = request.full_url, timeout
        return Response(b"weight")

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    assert cli.main(["weights", "fetch", "drunet-gray"]) == 0
    assert (empty_cache / "drunet_deepinv_gray_finetune_26k.pth").read_bytes() == b"weight"
    assert seen["url"] == pub.get("drunet-gray").url and seen["timeout"] <= 30
    assert [p.name for p in empty_cache.iterdir()] == ["drunet_deepinv_gray_finetune_26k.pth"]


# --- with checkpoints of the right architecture (random weights) in the cache -----------------------

def _random_state(name: str) -> dict[str, torch.Tensor]:
    """A state dict of ``name``'s architecture with random values (built on the meta device: shapes only)."""
    g = torch.Generator().manual_seed(0)
    net = pub._build(name)
    shapes = {k: v for k, v in net.state_dict().items() if k not in pub._derived_buffers(net)}  # as published
    return {k: (0.02 * torch.randn(v.shape, generator=g)).to(v.dtype) if v.is_floating_point()
            else torch.zeros(v.shape, dtype=v.dtype) for k, v in shapes.items()}


@pytest.fixture(scope="module")
def filled_cache(tmp_path_factory):
    if dinv is None:
        pytest.skip("needs deepinv")
    home = tmp_path_factory.mktemp("torch")
    cache = home / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    for name in ("ram", "drunet-gray", "scunet-color"):
        torch.save(_random_state(name), cache / pub.get(name).file)
    return home


@pytest.fixture
def cache_home(filled_cache, monkeypatch, no_network):
    monkeypatch.setenv("TORCH_HOME", str(filled_cache))
    pub._load.cache_clear()
    return filled_cache


@needs_deepinv
def test_a_published_method_runs_end_to_end_through_the_cli(cache_home, tmp_path):
    out = subprocess.run([*ARENA, "run", "--image", "camera", "--max-side", "32", "--degradation", "blur",
                          "--method", "ram", "--method", "pnp:denoiser=drunet-published,iterations=2", "--no-lpips",
                          "--quiet", "--out", str(tmp_path)],
                         capture_output=True, text=True, env={**os.environ, "TORCH_HOME": str(cache_home)},
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads((tmp_path / "metrics.json").read_text())
    methods = doc["methods"]
    assert set(methods) == {"ram", "pnp"}
    assert all(m["status"] == "done" for m in methods.values()), methods
    assert (tmp_path / "ram.png").is_file() and (tmp_path / "pnp.png").is_file()


@needs_deepinv
def test_published_networks_load_and_run_in_process(cache_home, capsys):
    assert cli.main(["run", "--image", "astronaut", "--max-side", "32", "--degradation", "denoise", "--method",
                     "scunet", "--no-lpips", "--quiet"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("scunet"))
    assert row.rstrip().endswith("done")
    net = pub.load("ram")
    assert not any(p.is_meta for p in net.parameters()) and not net.training


@needs_deepinv
def test_a_wrong_file_in_the_cache_is_one_sentence(cache_home, tmp_path, monkeypatch):
    home = tmp_path / "wrong"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    torch.save({"conv.weight": torch.zeros(3)}, home / "hub" / "checkpoints" / pub.get("ram").file)
    monkeypatch.setenv("TORCH_HOME", str(home))
    with pytest.raises(SpecError, match="does not match RAM"):
        pub.load("ram")
    (home / "hub" / "checkpoints" / pub.get("ram").file).write_bytes(b"not a checkpoint")
    with pytest.raises(SpecError, match="not a readable torch checkpoint"):
        pub.load("ram")


@needs_deepinv
def test_the_app_runs_a_published_method_and_shows_the_same_refusal_offline(cache_home, tmp_path, monkeypatch):
    pytest.importorskip("gradio")
    import gradio as gr
    from test_app_handlers import VIEW, FakeRequest, run_updates, settings

    from ui import run

    updates = run_updates(settings("blur", methods=("ram",)))
    assert updates[-1]["status"].startswith("Finished: ram done"), updates[-1]["status"]
    assert any(u.get("image-ram") for u in updates), "the method's tab gets its result"
    table = next(u["table"] for u in updates if u.get("table"))
    assert ">ram<" in table

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    values = settings("blur", methods=("ram",))
    with pytest.raises(gr.Error) as info:
        run.start_run(VIEW)(values, FakeRequest())
    problem, _, _ = make_problem(torch.rand(1, 3, 16, 16), "blur", {})
    assert info.value.message == f"ram: {METHODS.get('ram').unavailable({}, problem)}"
    assert "arena weights fetch ram" in info.value.message


@pytest.fixture(scope="module")
def diffunet_cache(filled_cache):
    cache = filled_cache / "hub" / "checkpoints"
    if not (cache / pub.get("diffunet-ffhq").file).is_file():
        torch.save(_random_state("diffunet-ffhq"), cache / pub.get("diffunet-ffhq").file)
    return filled_cache


@needs_deepinv
def test_diffunets_noise_prediction_gives_deepinvs_own_denoiser(diffunet_cache, monkeypatch, no_network):
    """Our ε(u_t, t) wiring against deepinv's noise-level branch: at σ with 1/(1 + 4σ²) = ᾱ_t, its
    denoiser rescales x exactly to our u_t and picks t, so Tweedie's x̂₀ from our ε must equal it."""
    from arena.diffusion import x0_estimate
    from arena.nets.ddpm import alpha_bar

    monkeypatch.setenv("TORCH_HOME", str(diffunet_cache))
    pub._load.cache_clear()
    net = pub.load("diffunet-ffhq")
    t, ab = 20, float(alpha_bar()[20])  # little noise: x̂₀ stays inside deepinv's clamp to [0, 1]
    g = torch.Generator().manual_seed(0)
    u = ab**0.5 * (torch.rand(1, 3, 32, 32, generator=g) - 0.5) + (1 - ab) ** 0.5 * torch.randn(1, 3, 32, 32, generator=g)
    with torch.no_grad():
        ours = (x0_estimate(METHODS.get("diffunet").eps_model(net)(u, torch.tensor([t])), u, ab) + 1) / 2
        theirs = net((u / ab**0.5 + 1) / 2, torch.tensor([((1 - ab) / ab) ** 0.5 / 2]), type_t="noise_level")
    inside = (ours > 0) & (ours < 1)
    assert inside.float().mean() > 0.9 and torch.allclose(ours[inside], theirs[inside], atol=1e-4), \
        (ours - theirs)[inside].abs().max()


@needs_deepinv
@pytest.mark.parametrize("sampler", ["diffpir", "dps"])
def test_the_published_diffusion_model_runs_end_to_end_and_refuses_grey_images(diffunet_cache, tmp_path, sampler,
                                                                               monkeypatch, no_network):
    monkeypatch.setenv("TORCH_HOME", str(diffunet_cache))
    pub._load.cache_clear()
    assert cli.main(["run", "--image", "astronaut", "--max-side", "32", "--degradation", "inpaint", "--method",
                     f"diffunet:sampler={sampler},iterations=3", "--no-lpips", "--quiet", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "metrics.json").read_text())["methods"]["diffunet"]
    assert result["status"] == "done" and result["params"]["zeta"] == 1.0, result
    grey, _, _ = make_problem(torch.rand(1, 1, 16, 16), "blur", {})
    assert "colour" in (METHODS.get("diffunet")().supports(grey) or "")
