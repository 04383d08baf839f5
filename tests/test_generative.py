"""GAN prior (Yeh et al.) and CSGM (Bora et al.) with the shipped faces generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arena.data.faces import HELD_OUT_SEEDS, TRAIN_SEEDS, draw_face, held_out
from arena.errors import SpecError
from arena.experiment import Config, bundled_images, prepare_experiment
from arena.gan_prior import DOMAIN, LatentSearch, gan_for, importance_weights, latent_search, poisson_blend
from arena.images import load_image
from arena.method import METHODS, load_methods
from arena.metrics import psnr
from arena.nets.dcgan import DEFAULT_GAN, Discriminator, GanConfig, Generator, load_gan, save_gan
from arena.problem import make_problem

load_methods()


def face(i: int = 0) -> torch.Tensor:
    """Held-out face i as a (1, 3, 64, 64) tensor."""
    return torch.from_numpy(held_out(i + 1)[i]).permute(2, 0, 1)[None].float() / 255


def run_last(method: str, problem, **values):
    m = METHODS.get(method)()
    assert m.supports(problem) is None
    return list(m.run(problem, **m.resolve(values)))[-1]


# --- data --------------------------------------------------------------------------------------

def test_faces_are_deterministic_and_held_out_seeds_are_disjoint():
    assert np.array_equal(draw_face(7), draw_face(7))
    assert not np.array_equal(draw_face(7), draw_face(8))
    assert set(HELD_OUT_SEEDS).isdisjoint(TRAIN_SEEDS)


def test_bundled_face_examples_are_the_held_out_faces():
    faces = held_out(4)
    for i in range(4):
        png = load_image(bundled_images()[f"face{i + 1}"]).x
        assert torch.equal((png[0] * 255).round().byte(), torch.from_numpy(faces[i]).permute(2, 0, 1))


# --- checkpoint ------------------------------------------------------------------------------

def test_shipped_generator_loads_with_declared_shape_and_range():
    gan = load_gan(DEFAULT_GAN)
    assert gan.meta["steps"] and gan.meta["data"]
    x = gan.G.image(torch.randn(5, gan.config.nz))
    assert x.shape == (5, *DOMAIN)
    assert x.min() >= 0 and x.max() <= 1
    assert x.std(0).mean() > 0.05, "different z give different images"
    assert not any(p.requires_grad for p in gan.G.parameters())


def test_wrong_architecture_checkpoint_is_refused(tmp_path):
    wide = GanConfig(ngf=48)
    path = tmp_path / "wide.safetensors"
    save_gan(path, Generator(wide), Discriminator(wide), wide, {})
    assert load_gan(path).config.ngf == 48, "a consistent file of another width loads"
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    save_file(tensors, str(path), metadata={"config": '{"ngf": 32}'})  # metadata says 32, tensors are 48
    with pytest.raises(SpecError, match="does not match the Generator architecture"):
        load_gan(path)
    del tensors["D.main.0.weight"]
    save_file(tensors, str(path), metadata={"config": '{"ngf": 48}'})
    with pytest.raises(SpecError, match="missing main.0.weight"):
        load_gan(path)


def test_corrupt_or_missing_checkpoint_gives_a_sentence(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(DEFAULT_GAN.read_bytes()[:5000])
    with pytest.raises(SpecError, match="not a readable safetensors"):
        load_gan(bad)
    with pytest.raises(SpecError, match="train one"):
        load_gan(tmp_path / "none.safetensors")
    with pytest.raises(SpecError, match=".safetensors file"):
        gan_for("/etc/passwd", "cpu")


# --- building blocks -----------------------------------------------------------------------------

def test_importance_weights_follow_yeh_eq3():
    mask = torch.ones(1, 1, 9, 9)
    mask[..., 4, 4] = 0  # one missing pixel
    w = importance_weights(mask, window=3)
    assert w[0, 0, 4, 4] == 0, "missing pixels get no weight"
    assert w[0, 0, 3, 3] == pytest.approx(1 / 9), "a neighbour of the hole: 1 missing of 9"
    assert w[0, 0, 0, 0] == 0, "far from the hole: no weight"


def test_poisson_blend_removes_a_colour_offset():
    y = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 1, 24, 24)
    mask[..., 8:16, 8:16] = 0
    g = (y + 0.2).clamp(max=1.5)  # right content, wrong brightness (no clipping inside [0, 1.5])
    out = poisson_blend(g, y, mask)
    assert torch.allclose(out[..., 8:16, 8:16], y[..., 8:16, 8:16].clamp(0, 1), atol=1e-3)
    assert torch.equal(out * mask, y * mask), "observed pixels are kept"


def test_restarts_keep_the_lowest_objective():
    """Restart 0 of a batched search follows the same path as a single search (same first z,
    element-wise Adam, G in eval mode), so the kept best can only be lower or equal."""
    gan = gan_for("", "cpu")
    problem, _, _ = make_problem(face(0), "denoise", {"sigma": 25.5}, seed=0)
    many = list(latent_search(problem, gan, LatentSearch(5, 6, 0.03, "l2", 0.0, 1.0, False, False), seed=3))
    one = list(latent_search(problem, gan, LatentSearch(5, 1, 0.03, "l2", 0.0, 1.0, False, False), seed=3))
    for (_, _, best, _, _), (_, _, single, _, _) in zip(many, one, strict=True):
        assert best.item() <= single.item() * (1 + 1e-5)
    assert any(b.item() < s.item() * (1 - 1e-4) for (_, _, b, _, _), (_, _, s, _, _) in zip(many, one, strict=True)), \
        "with six starts some other start is better at some point"


# --- the methods ---------------------------------------------------------------------------------

def test_gan_prior_fills_the_centre_hole_better_than_tv():
    clean = face(1)
    problem, clean, _ = make_problem(clean, "inpaint", {"mask": "box", "box": 0.5}, seed=0)
    gan = run_last("gan", problem, iterations=100, restarts=4)
    tv = run_last("pgd", problem, iterations=300)
    p_gan, p_tv = psnr(gan.x, clean), psnr(tv.x, clean)
    assert p_gan > p_tv, (p_gan, p_tv)
    observed = problem.degradation.mask.bool().expand_as(clean)
    assert torch.allclose(gan.x[observed], problem.y[observed]), "blending keeps the observed pixels"


def test_csgm_error_falls_as_measurements_grow():
    clean = face(2)
    errors = []
    for ratio in (0.01, 0.05, 0.3):
        problem, c, _ = make_problem(clean, "cs", {"ratio": ratio}, seed=0)
        errors.append(float((run_last("csgm", problem, iterations=100, restarts=2).x - c).pow(2).mean()))
    assert errors[0] > errors[1] > errors[2], errors


def test_quantization_data_term_uses_identity_or_the_quantizer():
    """Yeh et al. fit G(z) to the quantized image directly (A = I); the option fits Q(G(z)) instead."""
    problem, _, _ = make_problem(face(0), "quantize", {"levels": 5}, seed=0)
    for quantizer in ("identity", "straight-through"):
        step = run_last("gan", problem, iterations=3, restarts=1, quantizer=quantizer)
        fitted = step.x if quantizer == "identity" else problem.A(step.x)
        assert step.diagnostics["data_term"] == pytest.approx(float((fitted - problem.y).abs().sum()), rel=1e-4)


def test_domain_fitting_and_out_of_domain_warning():
    cfg = Config(image="camera", degradation="inpaint", degradation_params={"mask": "box"},
                 methods=[{"name": "gan", "params": {"iterations": 2}}, {"name": "tv", "params": {}}])
    prep = prepare_experiment(cfg)
    assert prep.clean.shape == (1, *DOMAIN)
    text = " ".join(prep.notices)
    assert "64×64" in text and "grey image repeated" in text
    assert "out of the prior's domain" in text
    inside = prepare_experiment(Config(image="face1", degradation="inpaint", methods=[{"name": "gan", "params": {}}]))
    assert not any("domain" in n for n in inside.notices), inside.notices


def test_wrong_size_problem_is_refused_with_a_sentence():
    problem, _, _ = make_problem(torch.rand(1, 3, 32, 32), "denoise", {}, seed=0)
    why = METHODS.get("csgm")().supports(problem)
    assert why and "64×64" in why
