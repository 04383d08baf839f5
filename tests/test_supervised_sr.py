"""The ×4 SR pair: one operator only, and the perception–distortion trade-off on a held-out photo."""

from __future__ import annotations

import torch

from arena.method import METHODS, load_methods
from arena.metrics import lpips_distance, psnr
from arena.nets.srresnet import SRResNet, load_srresnet
from arena.problem import make_problem
from tests.test_learned import held_out
from tests.test_training import _weights_state

load_methods()


def test_the_networks_refuse_other_factors_and_families_with_a_sentence():
    for name in ("srresnet", "srgan"):
        m = METHODS.get(name)()
        x2, _, _ = make_problem(held_out("chelsea", 32), "sr", {"factor": 2})
        assert "trained only for super-resolution ×4" in m.supports(x2) and "sr ×2" in m.supports(x2)
        blur, _, _ = make_problem(held_out("chelsea", 32), "blur", {})
        assert "knows nothing about blur" in m.supports(blur)
        noisy, _, _ = make_problem(held_out("chelsea", 32), "sr", {"factor": 4, "noise": 5})
        assert m.supports(noisy) is None and "noise 5" in m.caveat(noisy)


def test_a_grey_image_is_three_equal_channels():
    net = SRResNet(8, 1)
    y = torch.rand(1, 1, 6, 6)
    assert torch.allclose(net(y), net(y.expand(-1, 3, -1, -1)).mean(1, keepdim=True))


def test_mse_network_wins_psnr_and_the_perceptual_one_wins_lpips_on_a_held_out_photo():
    """The issue's check: the SRResNet has the higher PSNR, the SRGAN the lower LPIPS, and both beat
    bicubic on the metric they were trained for."""
    problem, clean, _ = make_problem(held_out("chelsea", 128), "sr", {"factor": 4})
    out = {n: list(METHODS.get(n)().run(problem, weights=""))[-1].x.clamp(0, 1) for n in ("srresnet", "srgan")}
    bicubic = problem.initial()
    assert psnr(out["srresnet"], clean) > psnr(out["srgan"], clean)
    assert psnr(out["srresnet"], clean) > psnr(bicubic, clean) + 0.2
    assert lpips_distance(out["srgan"], clean) < lpips_distance(out["srresnet"], clean) < lpips_distance(bicubic, clean)


def test_sr_training_writes_to_out_and_starts_from_init(tmp_path):
    import numpy as np
    import pytest
    from PIL import Image

    from arena.data.wallpapers import PHOTOS
    from training.train_sr import main

    photo = PHOTOS[0]
    (tmp_path / photo.path).parent.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(tmp_path / photo.path)
    before = _weights_state()
    args = ["--kind", "mse", "--photos", str(tmp_path), "--width", "8", "--blocks", "1", "--batch", "2", "--size", "32"]
    with pytest.warns(UserWarning, match="not found"):
        main([*args, "--steps", "2", "--out", str(tmp_path / "a")])
        main([*args, "--steps", "1", "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a" / "srresnet_x4.safetensors")])
    net, meta = load_srresnet(tmp_path / "b" / "srresnet_x4.safetensors")
    assert meta["steps"] == "3" and net.width == 8 and float(meta["held_out_psnr_sr_x4"]) > 10
    assert _weights_state() == before


def test_self_ensemble_is_the_mean_over_the_eight_symmetries():
    """Against an independent reference: a 'network' that is itself equivariant (nearest ×4 upsampling)
    is unchanged by the ensemble; an orientation-biased one (a horizontal shift) becomes the mean of
    its eight transformed versions, which is symmetric under a quarter turn."""
    import torch

    from arena.supervised_sr import self_ensemble

    y = torch.rand(1, 3, 8, 8)
    up = lambda t: t.repeat_interleave(4, 2).repeat_interleave(4, 3)  # noqa: E731
    assert torch.allclose(self_ensemble(up, y), up(y), atol=1e-6)
    shift = lambda t: torch.roll(up(t), 1, dims=3)  # noqa: E731
    ens = self_ensemble(shift, y)
    turn = lambda t: torch.rot90(t, 1, (2, 3))  # noqa: E731
    assert torch.allclose(self_ensemble(shift, turn(y)), turn(ens), atol=1e-6)
    assert not torch.allclose(ens, shift(y))
