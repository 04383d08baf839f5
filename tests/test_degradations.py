"""Every registered degradation: adjointness, shapes, seeded noise, differentiability."""

from __future__ import annotations

import pytest
import torch

from arena import metrics
from arena.degradations import DEGRADATIONS
from arena.errors import SpecError
from arena.problem import build_degradation, make_problem
from tests.conftest import bundled

# Parameter variants beyond the defaults that change the operator (each family's defaults run too).
VARIANTS = {
    "blur": [{"kernel": k, "boundary": b} for k in ("gaussian", "uniform", "motion") for b in ("circular", "valid")]
            + [{"kernel": "motion", "angle": 33.0, "size": 7}],
    "sr": [{"factor": f} for f in (2, 4, 8)],
    "inpaint": [{"mask": m} for m in ("random", "box", "text")],
    "quantize": [{"straight_through": False}],
    "mri": [{"ratio": 0.5, "center": 0.1}],
    "cs": [{"ratio": 0.6}],
}
CASES = [(d.name, {}) for d in DEGRADATIONS] + [(n, v) for n, vs in VARIANTS.items() for v in vs]
LINEAR = [(n, v) for n, v in CASES if DEGRADATIONS.get(n).linear]
SHAPE = (3, 32, 24)


def _build(name, values, device, seed=0):
    shape, _ = DEGRADATIONS.get(name).target_shape(SHAPE, {**{p.name: p.default for p in DEGRADATIONS.get(name).params}, **values})
    return build_degradation(name, shape, values, seed=seed, device=device)


def test_every_family_is_covered_and_the_required_ones_exist():
    names = set(DEGRADATIONS.names())
    assert {"denoise", "poisson", "blur", "sr", "inpaint", "colorize", "quantize", "mri", "cs"} <= names
    assert any(not d.linear for d in DEGRADATIONS), "at least one non-linear degradation"


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name,values", LINEAR, ids=[f"{n}-{v}" for n, v in LINEAR])
def test_adjoint(name, values, batch, device):
    """⟨Ax, y⟩ = ⟨x, Aᵀy⟩ to 1e-5 relative, in float32, on random inputs."""
    d = _build(name, values, device)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((batch, *d.shape), generator=g).to(device)
    y = torch.randn(d.A(x).shape, generator=g).to(device)
    ax, aty = d.A(x), d.A_adjoint(y)
    assert ax.dtype == torch.float32 and aty.shape == x.shape
    lhs, rhs = float((ax * y).sum()), float((x * aty).sum())
    scale = float(ax.norm() * y.norm())
    assert abs(lhs - rhs) <= 1e-5 * scale, (lhs, rhs)


def test_adjoint_unbatched_matches_batched():
    d = _build("blur", {}, "cpu")
    x = torch.randn(2, *d.shape)
    assert torch.allclose(d.A(x)[1:], d.A(x[1:]), atol=1e-6)


@pytest.mark.parametrize("name,values", CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_shapes_initial_and_gradient(name, values):
    d = _build(name, values, "cpu")
    x = torch.rand((1, *d.shape), requires_grad=True)
    y = d.observe(x.detach(), d.generator(0))
    assert y.shape == d.A(x).shape and torch.isfinite(y).all()
    assert d.initial(y).shape == x.shape
    assert d.preview(y).shape == x.shape
    (d.A(x) - y).pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert d.lipschitz() > 0


@pytest.mark.parametrize("name,values", CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_seeded_observation_is_reproducible(name, values):
    x = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(0))
    a = make_problem(x, name, values, seed=5)[0].y
    b = make_problem(x, name, values, seed=5)[0].y
    assert torch.equal(a, b)
    noisy = make_problem(x, name, {**values, **({"noise": 10.0} if "noise" in {p.name for p in DEGRADATIONS.get(name).params} else {})}, seed=6)[0]
    other = make_problem(x, name, {**values, **({"noise": 10.0} if "noise" in {p.name for p in DEGRADATIONS.get(name).params} else {})}, seed=7)[0]
    if noisy.degradation.noise.rms(noisy.y) > 0:
        assert not torch.equal(noisy.y, other.y), "a different seed must give different noise"


def test_lipschitz_bounds_the_operator_norm():
    for name, values in LINEAR:
        d = _build(name, values, "cpu")
        x = torch.randn(4, *d.shape)
        ratio = (d.A(x).flatten(1).norm(dim=1) ** 2 / x.flatten(1).norm(dim=1) ** 2).max()
        assert float(ratio) <= d.lipschitz() * 1.001, name


def test_noise_statistics():
    x = torch.full((1, 1, 128, 128), 0.5)
    p, _, _ = make_problem(x, "denoise", {"sigma": 25}, seed=0)
    assert abs(float((p.y - x).std()) * 255 - 25) < 0.6
    q, _, _ = make_problem(x, "poisson", {"peak": 20}, seed=0)
    assert abs(float(q.y.mean()) - 0.5) < 0.01
    assert abs(float(q.y.var()) - 0.5 / 20) < 0.002  # Poisson: variance = mean / peak


def test_sr_matches_antialiased_bicubic_downsampling():
    """Away from the (periodic) border, A is torch's antialiased bicubic resize: an independent reference."""
    t = torch.linspace(0, 1, 64)
    x = (torch.sin(6 * t)[:, None] * torch.cos(4 * t)[None, :])[None, None].repeat(1, 3, 1, 1)
    for f in (2, 4, 8):
        d = build_degradation("sr", (3, 64, 64), {"factor": f})
        ref = torch.nn.functional.interpolate(x, scale_factor=1 / f, mode="bicubic", antialias=True)
        assert torch.allclose(d.A(x)[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-5)


def test_circular_blur_matches_direct_convolution():
    x = torch.rand(1, 1, 16, 16)
    d = build_degradation("blur", (1, 16, 16), {"kernel": "motion", "size": 5, "angle": 30.0})
    k = d.kernel
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="circular")
    ref = torch.nn.functional.conv2d(padded, k.flip(0, 1)[None, None])
    assert torch.allclose(d.A(x), ref, atol=1e-5)


def test_masks():
    d = build_degradation("inpaint", (3, 40, 40), {"mask": "random", "ratio": 0.3}, seed=1)
    assert abs(float(1 - d.mask.mean()) - 0.3) < 0.05
    box = build_degradation("inpaint", (3, 40, 40), {"mask": "box", "box": 0.5})
    assert float((1 - box.mask).sum()) == 20 * 20 and box.mask[0, 0, 20, 20] == 0
    text = build_degradation("inpaint", (3, 64, 64), {"mask": "text"})
    assert 0.05 < float(1 - text.mask.mean()) < 0.5


def test_mask_from_file(tmp_path):
    import numpy as np
    from PIL import Image

    m = np.zeros((20, 20), dtype=np.uint8)
    m[5:10, 5:10] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    d = build_degradation("inpaint", (3, 20, 20), {"mask": "file", "path": str(tmp_path / "m.png")})
    assert float((1 - d.mask).sum()) == 25
    with pytest.raises(SpecError, match="path"):
        build_degradation("inpaint", (3, 20, 20), {"mask": "file"})


def test_masked_observations_carry_no_noise_where_missing():
    x = torch.rand(1, 3, 32, 32)
    p, _, _ = make_problem(x, "inpaint", {"noise": 20.0}, seed=0)
    assert float((p.y * (1 - p.degradation.mask)).abs().max()) == 0.0


def test_quantize_straight_through():
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    st = build_degradation("quantize", (3, 16, 16), {"levels": 5})
    y = st.A(x)
    assert set(torch.unique(y * 4).round().tolist()) <= {0, 1, 2, 3, 4}
    y.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))
    exact = build_degradation("quantize", (3, 16, 16), {"straight_through": False})
    x.grad = None
    exact.A(x).sum().backward()
    assert float(x.grad.abs().max()) == 0.0


def test_camera_saturates_and_inverts():
    d = build_degradation("camera", (1, 8, 8), {"exposure": 2.0, "noise": 0.0})
    x = torch.linspace(0, 1, 64).view(1, 1, 8, 8)
    y = d.A(x)
    assert float(y.max()) == 1.0 and float((y == 1).float().mean()) > 0.2
    unsat = y < 1
    assert torch.allclose(d.initial(y)[unsat], x[unsat], atol=1e-4)


def test_refusals_are_clear():
    with pytest.raises(SpecError, match="RGB"):
        build_degradation("colorize", (1, 16, 16), {})
    with pytest.raises(SpecError, match="odd"):
        build_degradation("blur", (1, 16, 16), {"size": 4})
    with pytest.raises(SpecError, match="larger than the image"):
        build_degradation("blur", (1, 16, 16), {"size": 31})
    with pytest.raises(SpecError, match="valid names"):
        build_degradation("nope", (1, 16, 16), {})


def test_problem_builder_fits_shapes():
    x = torch.rand(1, 3, 50, 37)
    p, clean, notes = make_problem(x, "sr", {"factor": 4})
    assert clean.shape[-2:] == (48, 36) and p.y.shape[-2:] == (12, 9) and "cropped" in notes[0]
    p, clean, notes = make_problem(torch.rand(1, 1, 128, 128), "cs", {})
    assert clean.shape[-2] * clean.shape[-1] <= 4096 and "resized" in notes[0]


def _noiseless(name, values):
    params = {p.name for p in DEGRADATIONS.get(name).params}
    return {**values, **({"noise": 0.0} if "noise" in params else {})}


def _projecting_cases():
    out = []
    for name, values in CASES:
        d = _build(name, _noiseless(name, values), "cpu")
        x = torch.zeros((1, *d.shape))
        if d.project(x, d.A(x)) is not None:
            out.append((name, values))
    return out


PROJECTING = _projecting_cases()


def test_the_projecting_families_include_inpainting_and_mri():
    assert {"inpaint", "mri"} <= {n for n, _ in PROJECTING}


@pytest.mark.parametrize("name,values", PROJECTING, ids=[f"{n}-{v}" for n, v in PROJECTING])
def test_project_is_the_orthogonal_projection_onto_the_data(name, values, device):
    """For noiseless y = A x: A P(u) = y, P∘P = P (to 1e-6 relative), and u − P(u) is orthogonal
    to every direction inside {v : A v = y} (P(w) − P(u) for another w): an orthogonal projection."""
    d = _build(name, _noiseless(name, values), device, seed=3)
    g = torch.Generator().manual_seed(2)
    x = torch.rand((1, *d.shape), generator=g).to(device)
    y = d.observe(x, d.generator(0))
    assert torch.equal(y, d.A(x)), "noiseless observation"
    u, w = (torch.randn((1, *d.shape), generator=g).to(device) for _ in range(2))
    pu, pw = d.project(u, y), d.project(w, y)
    assert pu.shape == u.shape and pu.dtype == torch.float32
    assert float((d.A(pu) - y).norm()) <= 1e-6 * float(y.norm())
    assert float((d.project(pu, y) - pu).norm()) <= 1e-6 * float(pu.norm())
    inner = float(((u - pu) * (pw - pu)).sum())
    assert abs(inner) <= 1e-5 * float((u - pu).norm() * (pw - pu).norm())


@pytest.mark.parametrize("values", [{}, {"exposure": 2.0, "curve": 4.0}, {"exposure": 0.5, "curve": 0.1},
                                    {"exposure": 8.0, "curve": 10.0}])
def test_camera_lipschitz_bounds_the_gradient_over_the_data_range(values):
    """The bound covers the curvature term: sup over x, y ∈ [0, 1] of |f'(a) − f'(b)| / |a − b| for
    f = ½(A(x) − y)², estimated on a fine grid within each smooth piece (either side of the
    clipping point), never exceeds it — and with the defaults it is ≈ 12.4, not the 7.07 of the
    squared slope alone."""
    d = build_degradation("camera", (1, 4, 4), {**values, "noise": 0.0})
    x = torch.linspace(0.0, 1.0, 20001, dtype=torch.float64)[:, None]
    y = torch.linspace(0.0, 1.0, 41, dtype=torch.float64)[None, :]
    xv = x.expand(-1, y.shape[1]).clone().requires_grad_(True)
    (g,) = torch.autograd.grad((0.5 * (d.A(xv) - y) ** 2).sum(), xv)
    clipped = d.e * (1 - torch.exp(-d.g * x)) / d.norm >= 1.0
    same_piece = (clipped[1:] == clipped[:-1]).expand(-1, y.shape[1])
    ratio = ((g[1:] - g[:-1]).abs() / (x[1:] - x[:-1]))[same_piece]
    estimate = float(ratio.max())
    assert estimate <= d.lipschitz() * (1 + 1e-9), (estimate, d.lipschitz())
    assert estimate >= 0.99 * d.lipschitz(), "the bound is tight (attained at x = 0, y = 1)"
    if not values:
        assert d.lipschitz() == pytest.approx(12.4, abs=0.05) and (d.e * d.g / d.norm) ** 2 == pytest.approx(7.07, abs=0.01)


def test_camera_reading_saturates_after_the_noise():
    x = torch.linspace(0, 1, 256).view(1, 1, 16, 16)
    p, _, _ = make_problem(x, "camera", {"exposure": 2.0, "noise": 20.0}, seed=0)
    assert float(p.y.max()) == 1.0 and float(p.y.min()) >= 0.0


def test_initial_is_what_the_naive_docstring_says():
    """``naive`` returns ``initial(y)``; its docstring lists what that is per family."""
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for name, values in [("denoise", {}), ("poisson", {}), ("quantize", {}), ("blur", {"boundary": "circular"})]:
        p, _, _ = make_problem(x, name, values, seed=0)
        assert torch.equal(p.initial(), p.y), name
    for name in ("inpaint", "mri"):
        p, _, _ = make_problem(x, name, {}, seed=0)
        assert torch.allclose(p.initial(), p.A_adjoint(p.y)), name
    p, _, _ = make_problem(x, "blur", {"boundary": "valid", "size": 5}, seed=0)
    assert torch.equal(p.initial()[..., 2:-2, 2:-2], p.y)


def test_jpeg_tables_and_transform_are_libjpegs():
    """The scaled tables are those Pillow's encoder writes (read back from the file's DQT markers,
    luma and chroma, at every quality 1–100: libjpeg's integer scaling ⌊5000/q⌋ differs from
    5000/q at 34 qualities); the DCT is scipy's orthonormal DCT-II."""
    import io

    import numpy as np
    import scipy.fft
    from PIL import Image

    from arena.degradations.jpeg import CHROMA, LUMA, dct_matrix, scaled_table

    img = Image.fromarray((np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8))
    for q in range(1, 101):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=q)
        tables = Image.open(io.BytesIO(buf.getvalue())).quantization
        assert list(scaled_table(LUMA, q).flatten().int()) == list(tables[0]), q
        assert list(scaled_table(CHROMA, q).flatten().int()) == list(tables[1]), q
    d = dct_matrix().double()
    assert torch.allclose(d, torch.from_numpy(scipy.fft.dct(np.eye(8), norm="ortho", axis=0)), atol=1e-6)


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
@pytest.mark.parametrize("image", ["astronaut", "camera"])
def test_the_differentiable_jpeg_model_agrees_with_pillows_round_trip(image, subsampling):
    x = bundled(image, 64)
    for q in (10, 30, 50, 70, 90):
        p, clean, _ = make_problem(x, "jpeg", {"quality": q, "subsampling": subsampling}, seed=0)
        model = p.degradation.A(clean)
        assert abs(metrics.psnr(model, clean) - metrics.psnr(p.y, clean)) < 1.0, q
        assert metrics.psnr(model, p.y) > 35, q


def test_jpeg_passes_gradients_straight_through():
    """With 4:4:4 the colour transforms cancel and rounding is the identity backwards, so
    ∇½‖A(x) − y‖² = A(x) − y except where the decoded value overshoots 0–255 and is clipped."""
    x = bundled("chelsea", 32).clamp(0.05, 0.95)
    p, clean, _ = make_problem(x, "jpeg", {"quality": 20, "subsampling": "4:4:4"}, seed=0)
    start = clean.flip(-1)
    _, g = p.fidelity_and_grad(start)
    same = (g - p.residual(start)).abs() < 1e-4
    assert same.float().mean() > 0.98 and float(g.abs().sum()) > 0


def test_the_network_degradation_is_differentiable_and_its_step_bound_holds():
    """φ is a trained CNN: its Jacobian products are adjoint, match finite differences, and
    ‖J_φ‖² stays below the bound its checkpoint records (what the methods' step sizes use)."""
    from arena.nonlinear_least_squares import Linearization

    x = bundled("chelsea", 32)
    p, clean, _ = make_problem(x, "encoder", {"noise": 0}, seed=0)
    assert p.y.shape == (1, 4, 16, 16) and p.degradation.initial(p.y).shape == clean.shape
    lin = Linearization(p.residual, clean)
    g = torch.Generator().manual_seed(0)
    v, u = torch.randn(clean.shape, generator=g), torch.randn(p.y.shape, generator=g)
    assert torch.allclose((lin.J(v) * u).sum(), (v * lin.Jt(u)).sum(), rtol=1e-4)
    h = 1e-3
    fd = (p.residual(clean + h * v) - p.residual(clean - h * v)) / (2 * h)
    assert float((lin.J(v) - fd).norm() / lin.J(v).norm()) < 1e-2  # float32, and ReLU kinks inside ±h
    for _ in range(30):
        w = lin.JtJ(v)
        v = w / w.norm()
    assert float(lin.JtJ(v).norm()) <= p.lipschitz * 1.05
    assert metrics.psnr(p.degradation.initial(p.y), clean) > 20, "the decoder inverts the code"


def test_gradient_steps_on_a_grey_photo_under_the_network_encoder_lower_the_data_fit():
    """A grey image enters φ as three equal channels, which triples ‖J‖²: with the RGB bound
    alone, TV's steps diverged on camera (data-fit 3.6 → 13.4, 29.7 → 11.8 dB)."""
    from arena.method import METHODS, load_methods
    from arena.metrics import data_fit

    problem, _, _ = make_problem(bundled("camera", 32), "encoder", {}, seed=0)
    load_methods()
    tv = METHODS.get("tv")
    *_, last = tv().run(problem, **tv.resolve({"iterations": 60}, problem))
    assert data_fit(problem, last.x) < data_fit(problem, problem.initial())
