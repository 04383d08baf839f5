"""The "skip" encoder–decoder of Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018).

Follows ``models/skip.py`` of the authors' code: at every scale a strided 3×3 conv going down, a
3×3 conv, the deeper scales, bilinear ×2 upsampling, concatenation with a 1×1 "skip" branch, batch
norm, a 3×3 and a 1×1 conv going up; reflection padding, LeakyReLU(0.2), a sigmoid at the output.
The paper's denoising/inpainting net is ``SkipConfig.paper()`` (128 channels × 5 scales, skip 4).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from arena.method import Step
from arena.nets import autotune
from arena.params import Param, Value
from arena.problem import Problem


@dataclass(frozen=True)
class SkipConfig:
    """Channels per scale (coarsest last), skip channels, input/output depth."""

    down: tuple[int, ...] = (128, 128, 128, 128, 128)
    up: tuple[int, ...] = (128, 128, 128, 128, 128)
    skip: tuple[int, ...] = (4, 4, 4, 4, 4)
    input_depth: int = 32
    output_depth: int = 3
    copies: int = 1
    """Independent networks evaluated in one call (grouped convolutions), e.g. one per seed."""

    @classmethod
    def paper(cls, input_depth: int = 32, output_depth: int = 3, copies: int = 1) -> SkipConfig:
        return cls(input_depth=input_depth, output_depth=output_depth, copies=copies)

    @classmethod
    def light(cls, input_depth: int = 32, output_depth: int = 3, copies: int = 1) -> SkipConfig:
        """A CPU-sized net: 4 scales of 32 channels (about 50× fewer multiply-adds per pixel)."""
        return cls((32,) * 4, (32,) * 4, (4,) * 4, input_depth, output_depth, copies)

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this (2^scales)."""
        return 2 ** len(self.down)


class _ReflectPad(nn.Module):
    """Reflection padding in its input's own precision. Autocast counts the pad among the float32
    ops, so under bf16 every 3×3 convolution paid a copy up to float32 and one back down (forward and
    backward); the padded values are the same either way."""

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = (pad,) * 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return F.pad(x, self.pad, mode="reflect")


def _conv(cin: int, cout: int, k: int, stride: int = 1, g: int = 1) -> nn.Sequential:
    pad = (k - 1) // 2
    layers: list[nn.Module] = [_ReflectPad(pad)] if pad else []
    layers.append(nn.Conv2d(cin * g, cout * g, k, stride=stride, groups=g))
    return nn.Sequential(*layers)


def _bn_act(c: int, g: int = 1) -> list[nn.Module]:
    # Batch norm is per channel, so g stacked copies stay independent.
    return [nn.BatchNorm2d(c * g), nn.LeakyReLU(0.2, inplace=True)]


def _group_cat(a: torch.Tensor, b: torch.Tensor, g: int) -> torch.Tensor:
    """Concatenate channels copy by copy, so that copy i sees only its own skip and deep features."""
    n, h, w = a.shape[0], a.shape[-2], a.shape[-1]
    return torch.cat([a.reshape(n, g, -1, h, w), b.reshape(n, g, -1, h, w)], dim=2).reshape(n, -1, h, w)


class _Level(nn.Module):
    """One scale: concat(skip(x), up(deeper(down(x)))) → BN → 3×3 conv → 1×1 conv."""

    def __init__(self, cin: int, cfg: SkipConfig, i: int) -> None:
        super().__init__()
        d, u, s, g = cfg.down[i], cfg.up[i], cfg.skip[i], cfg.copies
        self.g = g
        self.skip = nn.Sequential(_conv(cin, s, 1, g=g), *_bn_act(s, g)) if s else None
        self.down = nn.Sequential(_conv(cin, d, 3, 2, g), *_bn_act(d, g), _conv(d, d, 3, g=g), *_bn_act(d, g))
        self.deeper = _Level(d, cfg, i + 1) if i + 1 < len(cfg.down) else None
        k = cfg.up[i + 1] if self.deeper is not None else d
        self.merge = nn.Sequential(nn.BatchNorm2d((s + k) * g), _conv(s + k, u, 3, g=g), *_bn_act(u, g),
                                   _conv(u, u, 1, g=g), *_bn_act(u, g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)
        if self.deeper is not None:
            y = self.deeper(y)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        if self.skip is not None:
            y = _group_cat(self.skip(x), y, self.g)
        return self.merge(y)


class SkipNet(nn.Module):
    """f_θ(z): the DIP generator. Any input size: padded (reflect) to a multiple of 2^scales, cropped back.

    With ``copies = K`` it holds K independent nets: z has K·input_depth channels (copy i reads
    block i) and the output K·output_depth channels."""

    def __init__(self, cfg: SkipConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.body = _Level(cfg.input_depth, cfg, 0)
        self.head = nn.Conv2d(cfg.up[0] * cfg.copies, cfg.output_depth * cfg.copies, 1, groups=cfg.copies)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, w = z.shape[-2:]
        m = self.cfg.multiple
        # A multiple of 2^scales, and at least 2·2^scales so the coarsest scale is 2×2 pixels.
        ph, pw = max(-(-h // m) * m, 2 * m) - h, max(-(-w // m) * m, 2 * m) - w
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            z = F.pad(z, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)
        out = torch.sigmoid(self.head(self.body(z)))
        return out[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]


PRECISIONS = ("fp32", "bf16", "auto")
COMPILES = ("auto", "eager", "compile")
COMPILE_MIN_SECONDS = 300.0
"""``compile=auto`` compiles only on a GPU and only for runs with no budget or one this long:
compiling the light net took 142 s on the 2-core EPYC, the paper's net about 60 s for no faster
step there (``benchmarks/SKIPNET.md``), so on a CPU it never pays inside a lecture's minute."""
GUARD_STEPS = 40
"""Adam steps of the precision guard's short fit (its verdict is cached per net and device)."""
GUARD_SIDE = 64
"""Side of the centre crop the guard fits: the net is fully convolutional, the crop keeps it cheap."""


def dip_setup(shape: tuple[int, ...], device: torch.device, *, net: str, input_depth: int,
              seed: int, target: torch.Tensor, copies: int = 1, precision: str = "fp32",
              compile: str = "eager", seconds: float | None = None,
              ) -> tuple[nn.Module, torch.Tensor, torch.Generator, dict[str, Value]]:
    """The DIP starting point shared by DIP and DeepRED: a freshly initialised skip net (seeded; with
    ``copies`` independent nets in one), its fixed input z ~ U[0, 0.1] (``input_depth`` channels per
    copy), the generator for the input noise, and what ``auto`` settled (``precision``: timed, and
    guarded by a short fit to ``target`` — the problem's first estimate —; ``compile``: see
    ``COMPILE_MIN_SECONDS``; ``seconds`` is the run's budget)."""
    g = torch.Generator().manual_seed(seed)
    cfg = (SkipConfig.paper if net == "paper" else SkipConfig.light)(input_depth, shape[1], copies)
    f: nn.Module = SkipNet(cfg)
    seeded_init(f, torch.Generator().manual_seed(seed))
    f = f.to(device)
    z = (torch.rand((1, input_depth * copies, *shape[-2:]), generator=g) * 0.1).to(device)
    chosen: dict[str, Value] = {}
    if precision == "auto":
        guide = target.to(device).repeat(1, copies, 1, 1)
        precision = chosen["precision"] = autotune.precision(
            repr(cfg), f, z, lambda out: out.square().mean(), lambda trial: guard_fit_db(trial, z, guide))
    if compile == "auto":
        compile = chosen["compile"] = ("compile" if device.type == "cuda"
                                       and (seconds is None or seconds >= COMPILE_MIN_SECONDS) else "eager")
    f = autotune.Autocast(f) if precision == "bf16" else f
    fmt = autotune.memory_format(f"{cfg!r}|{precision}", f, z, lambda out: out.square().mean())
    f = f.to(memory_format=fmt)
    return (torch.compile(f) if compile == "compile" else f), z.contiguous(memory_format=fmt), g, chosen


def guard_fit_db(net: nn.Module, z: torch.Tensor, target: torch.Tensor, lr: float = 0.005) -> float:
    """DIP's loop in small: ``GUARD_STEPS`` Adam steps fitting ``net(z + η)`` (η of std 1/30, seeded)
    to the centre ``GUARD_SIDE``² crop of ``target``; the mean data PSNR (dB) of the last ten steps,
    as one step's loss is noisy."""
    h, w = target.shape[-2:]
    side_h, side_w = min(GUARD_SIDE, h), min(GUARD_SIDE, w)
    top, left = (h - side_h) // 2, (w - side_w) // 2
    zc = z[..., top:top + side_h, left:left + side_w]
    tc = target[..., top:top + side_h, left:left + side_w]
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    dbs = []
    for _ in range(GUARD_STEPS):
        mse = (net(zc + torch.randn(zc.shape, generator=g).to(zc.device) / 30) - tc).square().mean()
        opt.zero_grad(set_to_none=True)
        mse.backward()
        opt.step()
        dbs.append(-10.0 * math.log10(max(mse.item(), 1e-12)))
    return sum(dbs[-10:]) / 10


def seeded_init(net: nn.Module, g: torch.Generator) -> None:
    """Re-draw every convolution's default initialisation (weights kaiming-uniform with a = √5, bias
    U(±1/√fan_in)) from ``g``, in construction order: the values ``torch.manual_seed`` would give,
    without seeding the global generator, which methods running beside this one in other threads
    share (DIP and DeepRED started together drew each other's weights)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)
            if m.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=g)


PAPER_ITERATIONS = 3000
"""The paper's count for denoising (and the most ``net=auto`` plans with a time budget)."""
CPU_ITERATIONS = 600
"""Without a time budget on a CPU, at σ ≥ 25: the light net's count in the CPU lecture preset."""
CPU_LOW_NOISE_FACTOR = 4.0
"""At most this many times ``CPU_ITERATIONS`` for low-noise problems (see :func:`dip_iterations`)."""
NETS = ("auto", "paper", "light")
"""Values of ``net``: chosen from the time budget and this machine, the paper's, or the light one."""


def dip_net_params() -> tuple[Param, ...]:
    """The parameters DIP and DeepRED share for the network and its averaged output."""
    return (
        Param("ema", 0.99, "weight of the exponential average of the outputs (0 = raw output)", min=0.0, max=0.999),
        Param("net", "auto", "network size: auto (timed here, chosen to finish inside the time budget), the "
              "paper's (128 ch × 5 scales) or a light CPU one (32 × 4)", choices=NETS),
        Param("input_depth", 32, "channels of the random input z", min=1, max=64),
        Param("precision", "auto", "the net's arithmetic: fp32, bf16 autocast (convolutions in bfloat16, faster "
              "where the processor has bf16 units), or auto: bf16 where its step times faster here and a short "
              "fit with it ends within 0.1 dB of fp32's (measured once per net and machine)", choices=PRECISIONS),
        Param("compile", "auto", "torch.compile the net: auto compiles only on a GPU for long runs (compiling "
              "takes minutes and gave no faster step on a CPU), eager never, compile always", choices=COMPILES),
    )


PAPER_MIN_ITERATIONS = 1000
"""Steps the paper's net needs to be worth choosing: at LR 0.01 its averaged output peaks after about
800–1500 of them on 128² σ=25 denoising; cut shorter, the light net is the better result."""
PAPER_COST = 5.0
"""A low estimate of (paper's step time) / (light step time) on a CPU, to skip timing the paper's net
when it cannot fit anyway: measured 5× at 64², 7× at 128², 10× at 256² (one thread)."""
PROBE_STEPS = 2
"""Timed steps per candidate, after one untimed warm-up step (allocations, oneDNN's kernel choice)."""
SLOW_STEP = 4.0
"""A step this many times slower than timed, with several torch threads, means other work arrived
on the cores (see :meth:`NetPlan.iterates`)."""
MARGIN = 0.05
"""Share of the time left that the plan keeps free for the runner's measurements and for noise."""
SEVERAL_GAIN = 0.8
"""Several torch threads are kept only when a step is at least 20 % faster with them: one thread
loses little when the cores are free, several lose 20× when other work arrives."""
THREAD_TRIAL = 100
"""Several torch threads are tried only when the time left is this many one-thread steps: when other
work keeps the cores busy, one several-thread step can take 50× a one-thread step (OpenMP threads
waiting for each other), and the trial must not eat the budget."""


class Fit(Protocol):
    """One network being fitted by a method (DIP, DeepRED): ``step()`` does one iteration."""

    k: int

    def step(self) -> Step: ...

    def close(self) -> None: ...


@dataclass
class NetPlan:
    """What :func:`plan_net` settled: the fit to continue, its net and iteration count, the steps it
    already took while being timed (yield them first), and what to tell the user."""

    fit: Fit
    net: str
    iterations: int
    steps: list[Step] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    chosen: dict[str, Value] = field(default_factory=dict)
    seconds_per_step: float | None = None
    threads: int = 1

    def iterates(self) -> Iterator[Step]:
        """The steps already taken while timing, then new ones for as long as they are asked for.

        On a CPU with several torch threads, a step slower than ``SLOW_STEP`` × the timed one
        (other work arrived on the cores: several OpenMP threads then wait for each other) drops to
        one thread for the rest of the run, with a note."""
        yield from self.steps
        watch = self.seconds_per_step is not None and torch.get_num_threads() > 1
        while True:
            t = time.perf_counter()
            step = self.fit.step()
            took = time.perf_counter() - t
            if watch and took > SLOW_STEP * self.seconds_per_step:
                watch = False
                torch.set_num_threads(1)
                step = replace(step, notes=(*step.notes, f"one torch thread from step {step.it}: a step took "
                                            f"{took:.3g} s with {self.threads}, {self.seconds_per_step:.3g} s "
                                            f"when timed (other work arrived on the cores)."))
            yield step


def _choose_threads(fit: Fit, left: Callable[[], float]) -> tuple[float, list[Step], list[str]]:
    """Time ``fit`` with one torch thread, then — if the time ``left()`` allows — with the several it
    was given; keep several only when ``SEVERAL_GAIN`` faster. Returns the step time, the steps taken
    (real iterations) and a note when one thread was kept."""
    threads = torch.get_num_threads()
    notes: list[str] = []
    torch.set_num_threads(1)
    steps = [fit.step()]
    t_one, more = _timed(fit, PROBE_STEPS)
    steps += more
    if threads == 1:
        return t_one, steps, notes
    if left() <= THREAD_TRIAL * t_one:
        return t_one, steps, [f"one torch thread: the budget is too short to time {threads}."]
    torch.set_num_threads(threads)
    t = time.perf_counter()
    steps.append(fit.step())  # warm-up for this thread count, stopped short if hopeless
    t_several = time.perf_counter() - t
    if t_several < 2 * t_one:
        t_several, more = _timed(fit, PROBE_STEPS)
        steps += more
    if t_several < SEVERAL_GAIN * t_one:
        return t_several, steps, notes
    torch.set_num_threads(1)
    return t_one, steps, [f"one torch thread: a step took {t_one:.3g} s with one and {t_several:.3g} s with {threads}."]


def _timed(fit: Fit, n: int) -> tuple[float, list[Step]]:
    """The fastest of ``n`` steps of ``fit``, in seconds (the steps are real iterations and are
    returned). The fastest, because the first steps after a start run slow (caches, the other
    methods starting beside it); the run's own guard ends it in time if steps stay slower."""
    times, steps = [], []
    for _ in range(n):
        t = time.perf_counter()
        steps.append(fit.step())
        times.append(time.perf_counter() - t)
    return min(times), steps


def plan_net(make: Callable[[str], Fit], *, net: str, iterations: int, seconds: float | None,
             device: torch.device, started: float, extra_seconds: float = 0.0) -> NetPlan:
    """Choose the network and the iteration count from the time budget and this machine.

    ``net="paper"`` or ``"light"`` is used as given (on a CPU with a budget, its thread count is still
    timed and watched as below). ``net="auto"``:

    * without a time budget (``seconds=None``): the paper's net on a GPU, the light one on a CPU
      (where a step of the paper's net takes seconds), ``iterations`` as given;
    * with one: a few steps of the light net are timed — on a CPU with one torch thread first,
      then, if the method was given several and the budget is long enough, with those; several
      are kept only when ``SEVERAL_GAIN`` faster (other work on the same cores makes OpenMP's
      several-thread steps up to 20× slower, one thread at worst 2×; :meth:`NetPlan.iterates`
      drops to one thread if that happens later). The paper's net is
      timed too unless even ``PAPER_COST`` × the light step leaves it short of its
      ``PAPER_MIN_ITERATIONS``. The paper's net is chosen when it fits
      ``min(iterations, PAPER_MIN_ITERATIONS)`` steps into the time left, else the light one;
      ``iterations`` then becomes the most that fit (a step costs the timed step plus
      ``extra_seconds``, e.g. DeepRED's denoiser per step), never more than given.

    ``make(name)`` builds a fresh, seeded fit with that net; the steps taken while timing are real
    iterations of the chosen fit (``NetPlan.steps``), the other candidate is closed.
    """
    if net != "auto":
        if seconds is None or device.type != "cpu" or torch.get_num_threads() == 1:
            return NetPlan(make(net), net, iterations)
        fit = make(net)  # the net is given, the thread count is not: time it as for auto
        t_step, steps, notes = _choose_threads(fit, lambda: seconds - (time.perf_counter() - started))
        return NetPlan(fit, net, iterations, steps, tuple(notes), {}, t_step, torch.get_num_threads())
    if seconds is None:
        choice = "paper" if device.type == "cuda" else "light"
        why = ("a GPU is present" if choice == "paper" else
               "no time budget was given and a step of the paper's net takes seconds on a CPU (net=paper to use it)")
        return NetPlan(make(choice), choice, iterations, notes=(f"net {choice}: {why}.",), chosen={"net": choice})

    def left() -> float:
        return (seconds - (time.perf_counter() - started)) * (1 - MARGIN)

    light = make("light")
    if device.type == "cpu":
        t_light, steps, notes = _choose_threads(light, left)
    else:
        steps, notes = [light.step()], []
        t_light, more = _timed(light, PROBE_STEPS)
        steps += more

    need = min(iterations, PAPER_MIN_ITERATIONS)
    paper_note = ""
    if device.type != "cpu" or left() / (PAPER_COST * t_light + extra_seconds) >= need:
        paper = make("paper")
        psteps = [paper.step()]
        t_paper, more = _timed(paper, PROBE_STEPS)
        psteps += more
        fits = paper.k + math.floor(max(left(), 0.0) / (t_paper + extra_seconds))
        if fits >= need:
            light.close()
            n = min(iterations, fits)
            notes.insert(0, f"net paper: a step takes {t_paper:.3g} s here, {seconds:g} s allow {fits} "
                            f"of them; {n} iterations.")
            return NetPlan(paper, "paper", n, psteps, tuple(notes), {"net": "paper", "iterations": n},
                           t_paper + extra_seconds, torch.get_num_threads())
        paper.close()
        paper_note = (f"one step of the paper's net takes {t_paper:.3g} s here, {seconds:g} s allow only "
                      f"{fits} of them (it needs about {need})")
    else:
        paper_note = (f"a step of the paper's net would take about {PAPER_COST * t_light:.2g} s here or "
                      f"more (≥ {PAPER_COST:g}× the light net's {t_light:.2g} s), too slow for {need} steps "
                      f"in {seconds:g} s")
    fits = light.k + math.floor(max(left(), 0.0) / (t_light + extra_seconds))
    n = max(1, min(iterations, fits))
    cut = f"; {n} iterations fit" if n < iterations else f"; {n} iterations"
    notes.insert(0, f"net light: {paper_note}{cut}.")
    return NetPlan(light, "light", n, steps, tuple(notes), {"net": "light", "iterations": n},
                   t_light + extra_seconds, torch.get_num_threads())


def dip_iterations(problem: Problem) -> int:
    """The iteration rule DIP and DeepRED share (see ``DeepImagePrior.defaults`` in methods/dip.py):
    with a time budget or on a GPU the paper's 3000 (``net=auto`` cuts it to what fits); on a CPU
    without a budget 600 at σ ≥ 25, up to 4× that as the noise falls (600 · 25/σ, σ on the 0–255
    scale): with little noise the net overfits late and needs longer to fit the detail
    (``benchmarks/RULES.md``, DIP), and ES-WMV ends the run when it stops paying."""
    if problem.seconds is None and problem.device.type == "cpu":
        scale = 25.0 / max(problem.sigma * 255.0, 1e-6)
        return int(round(CPU_ITERATIONS * min(max(scale, 1.0), CPU_LOW_NOISE_FACTOR)))
    return PAPER_ITERATIONS


def dip_reg_noise(problem: Problem, at25: float = 1 / 30) -> float:
    """The input noise rule: ``at25`` up to σ = 25 and 1.5 × ``at25`` from σ = 50 on, linear in
    between — the notebooks' 1/30 → 1/20 ("set to 1./20. for sigma=50") when ``at25 = 1/30``."""
    s = min(max((problem.sigma * 255.0 - 25.0) / 25.0, 0.0), 1.0)
    return at25 * (1.0 + 0.5 * s)
