"""The convergence figure draws what the lessons talk about: raw outputs dashed, short runs with
markers, schedules on their own row, data-fit against the noise level without a clean image."""

from __future__ import annotations

from arena.plots import convergence_figure
from arena.runner import MethodResult


def history(n: int, **curves) -> list[dict[str, float]]:
    return [{"step": float(k), "seconds": 0.1 * k, "loss": 1.0 / k, **{name: f(k) for name, f in curves.items()}}
            for k in range(1, n + 1)]


def lines(ax) -> dict[str, object]:
    return {line.get_label(): line for line in ax.get_lines()}


def test_raw_output_is_dashed_in_a_lighter_shade_and_short_runs_get_markers():
    dip = MethodResult("dip", "dip", "DIP", {}, history=history(300, psnr=lambda k: 20 + k / 100,
                                                                   psnr_raw=lambda k: 21 + k / 200))
    pnp = MethodResult("pnp", "pnp", "PnP", {}, history=history(8, psnr=lambda k: 25 + k, sigma_k=lambda k: 50 / k,
                                                                   mu_k=lambda k: 0.01 * k))
    fig = convergence_figure({"dip": dip, "pnp": pnp}, degraded_psnr=20.0)
    axes = fig.get_axes()
    assert len(axes) == 6, "PSNR, objective and pnp's schedule rows, against iteration and time"
    psnr = lines(axes[0])
    raw, avg = psnr["dip (raw output)"], psnr["dip"]
    assert raw.get_linestyle() == "--" and avg.get_linestyle() == "-"
    assert raw.get_color() != avg.get_color(), "one method's two outputs in distinct colours"
    assert psnr["pnp"].get_marker() == "o" and avg.get_marker() in (None, "None", ""), "8 steps get markers"
    assert axes[0].get_xscale() == "log", "8 and 300 steps on one axis: log iterations"
    assert {"pnp: sigma_k", "pnp: mu_k"} <= set(lines(axes[4])), "the schedule row draws σ_k and μ_k"
    assert "degraded input" in psnr


def test_without_a_clean_image_the_top_row_is_data_fit_with_the_noise_level():
    tv = MethodResult("tv", "tv", "TV", {}, history=history(50, data_fit=lambda k: 30 - k / 5))
    fig = convergence_figure({"tv": tv}, noise_level=24.6)
    ax = fig.get_axes()[0]
    assert "data-fit" in ax.get_ylabel()
    noise = lines(ax)["noise level"]
    assert set(noise.get_ydata()) == {24.6}
    assert len(fig.get_axes()) == 4 and ax.get_xscale() == "linear"
