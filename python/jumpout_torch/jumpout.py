"""Jumpout and dropout for PyTorch, drawing the library's masks bit for bit.

For the same options, seed and step, `Jumpout` draws the rate the library's
`Jumpout` layer draws (the host generator's truncated half-normal, rounded to
units of 2^-24), divides it by the same q+ in integer arithmetic, and keeps
the same units: unit i of a step is kept when
`hash32(i ^ key(seed, step)) >> 8 < 2^24 - p' * 2^24`. A shard of a batch,
as one rank of DistributedDataParallel runs it, numbers its units as their
places in the whole batch (`shard`), so the ranks' masks together are the
whole batch's mask, as the library's data-parallel workers draw it.
"""

import math
import secrets
import struct

import torch
from torch import nn

from . import _random

RATE_ONE = 16777216  # 2^24: rates are integers in these units
FLOAT32_MAX = 3.4028234663852886e38
SCOPES = ("batch", "sample")


class Shard:
    """This call's rows are rows [row_offset, row_offset + rows) of a batch of
    batch_rows rows, split across processes."""

    def __init__(self, row_offset, batch_rows):
        for name, value in (("row_offset", row_offset), ("batch_rows", batch_rows)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"Cannot make a Shard: {name} must be an integer >= 0, got {value!r}"
                )
        self.row_offset = row_offset
        self.batch_rows = batch_rows

    def __repr__(self):
        return f"Shard(row_offset={self.row_offset}, batch_rows={self.batch_rows})"


def shard_rows(batch, parts):
    """How the library splits a batch of `batch` rows across `parts` workers:
    [(row_offset, rows)], the first batch % parts shards one row longer."""
    if not isinstance(parts, int) or parts < 1:
        raise ValueError(f"Cannot split a batch: parts must be an integer >= 1, got {parts!r}")
    if not isinstance(batch, int) or batch < parts:
        raise ValueError(
            f"Cannot split a batch: the batch must have at least one row per part ({parts}), got {batch!r} rows"
        )
    base, extra = divmod(batch, parts)
    shards, offset = [], 0
    for k in range(parts):
        rows = base + (1 if k < extra else 0)
        shards.append((offset, rows))
        offset += rows
    return shards


def _hash32(x):
    """lowbias32 of every element of an int64 tensor of values in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _mul32(x, c):
    """(x * c) mod 2^32 without overflowing int64: the constant in 16-bit halves."""
    low = x * (c & 0xFFFF)
    high = ((x * (c >> 16)) & 0xFFFF) << 16
    return (low + high) & 0xFFFFFFFF


def _float32(x):
    """x rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _mask_scale(x, kept, scale):
    """where(kept, x * scale, 0), a finite product held at +-FLOAT32_MAX."""
    y = x * scale
    overflow = torch.isinf(y) & torch.isfinite(x)
    y = torch.where(overflow, torch.sign(y) * FLOAT32_MAX, y)
    return torch.where(kept, y, torch.zeros((), dtype=y.dtype))


class _MaskScaleFunction(torch.autograd.Function):
    """y = mask * s * x; dx = mask * s * dy, with the forward's mask."""

    @staticmethod
    def forward(ctx, x, kept, scale):
        ctx.save_for_backward(kept, scale)
        return _mask_scale(x, kept, scale)

    @staticmethod
    def backward(ctx, dy):
        kept, scale = ctx.saved_tensors
        return _mask_scale(dy, kept, scale), None, None


class Jumpout(nn.Module):
    """Jumpout (Algorithm 1 of the paper), the library's options and semantics.

    In a training forward, for each scope unit (the call with scope "batch",
    each row with "sample"): p = min(p_min + |z|, p_max), z ~ N(0, sigma^2)
    drawn from (seed, step, unit); q+ = the unit's share of inputs > 0;
    p' = min(floor(p * 2^24 * n / count) / 2^24, p_max) (0 when nothing is
    active); each input is kept with probability 1 - p' and multiplied by
    (1 - p')^-rescale_power. With monotone=False, p = rate; with
    normalize=False, p' = p. Evaluation passes the input through.

    `step` counts training forwards; set it to resume a mask stream (the
    checkpoint loader does). `shard` (a Shard) places this module's rows in a
    batch split across processes; `count_reduce`, a function summing an
    integer over those processes, makes q+ the whole batch's (scope "batch"
    with normalize only). `last_stats` holds each unit's p, q_plus, rate (p')
    and scale after a training forward.
    """

    def __init__(
        self,
        sigma=0.1,
        p_min=0.01,
        p_max=0.6,
        rescale_power=0.75,
        scope="batch",
        seed=None,
        monotone=True,
        normalize=True,
        rate=None,
    ):
        super().__init__()
        name = type(self).__name__

        def fail(detail):
            raise ValueError(f"Cannot create {name}: {detail}")

        def finite(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        if not finite(sigma) or sigma < 0:
            fail(f"sigma must be a finite number >= 0, got {sigma!r}")
        for key, value in (("p_min", p_min), ("p_max", p_max)):
            if not finite(value) or not 0 <= value < 1:
                fail(f"{key} must be in [0, 1), got {value!r}")
        if p_min > p_max:
            fail(f"p_min must not exceed p_max, got p_min {p_min} > p_max {p_max}")
        if not finite(rescale_power) or rescale_power < 0:
            fail(f"rescale_power must be a finite number >= 0, got {rescale_power!r}")
        if scope not in SCOPES:
            fail(f'scope must be "batch" or "sample", got {scope!r}')
        for key, value in (("monotone", monotone), ("normalize", normalize)):
            if not isinstance(value, bool):
                fail(f"{key} must be a boolean, got {value!r}")
        if monotone and rate is not None:
            fail(f"rate needs monotone=False, got rate {rate!r} with monotone=True")
        if not monotone and (not finite(rate) or not 0 <= rate < 1):
            fail(f"rate must be in [0, 1), got {rate!r}")
        max_rate = p_max if normalize or monotone else rate
        min_keep = max(1, RATE_ONE - _random.js_round(max_rate * RATE_ONE))
        if _float32_overflows((min_keep / RATE_ONE) ** -rescale_power):
            fail(
                f"rescale_power must keep (1 - p')^-rescale_power finite in float32 "
                f"for p' up to {max_rate}, got {rescale_power!r}"
            )
        if seed is None:
            seed = secrets.randbits(32)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            fail(f"seed must be an integer in [0, 2^32), got {seed!r}")
        self.sigma = float(sigma)
        self.p_min = float(p_min)
        self.p_max = float(p_max)
        self.rescale_power = float(rescale_power)
        self.scope = scope
        self.seed = seed
        self.monotone = monotone
        self.normalize = normalize
        self.rate = None if rate is None else float(rate)
        self.step = 0
        self.shard = None
        self.count_reduce = None
        self.last_stats = None

    def extra_repr(self):
        fixed = f"rate={self.rate}" if not self.monotone else f"sigma={self.sigma}"
        return (
            f"{fixed}, p_min={self.p_min}, p_max={self.p_max}, "
            f"rescale_power={self.rescale_power}, scope={self.scope!r}, seed={self.seed}, "
            f"monotone={self.monotone}, normalize={self.normalize}"
        )

    def forward(self, x, shard=None, active_count=None):
        """Drops units in training mode; returns x itself in evaluation.

        `shard` (default: the module's) places x's rows in a split batch;
        `active_count`, the whole batch's inputs > 0, sets q+ (default: the
        module's count_reduce of this call's count, else this call's own).
        """
        if not self.training:
            return x
        name = type(self).__name__
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float32:
            raise TypeError(f"Cannot run {name} forward: x must be a float32 tensor, got {_describe(x)}")
        shard = self.shard if shard is None else shard
        units = math.prod(x.shape[1:]) if x.dim() > 0 else 1
        offset = 0
        if shard is not None:
            if x.dim() == 0:
                raise ValueError(f"Cannot run {name} forward: x must have a batch dimension with shard, got a scalar")
            if shard.row_offset + x.shape[0] > shard.batch_rows:
                raise ValueError(
                    f"Cannot run {name} forward: shard.row_offset + x.shape[0] must not exceed "
                    f"shard.batch_rows, got {shard.row_offset} + {x.shape[0]} > {shard.batch_rows}"
                )
            if shard.batch_rows * units >= 2**32:
                raise ValueError(
                    f"Cannot run {name} forward: shard.batch_rows x {units} units per row must be "
                    f"below 2^32, got {shard.batch_rows} rows"
                )
            offset = shard.row_offset * units
        if active_count is None and self.count_reduce is not None and shard is not None:
            active_count = "reduce"
        if active_count is not None:
            if shard is None or self.scope != "batch" or not self.normalize:
                raise ValueError(
                    f"Cannot run {name} forward: a whole batch's active count needs shard, "
                    f'scope "batch" and normalize, got shard {shard!r}, scope {self.scope!r}, '
                    f"normalize {self.normalize}"
                )
        rows = (x.shape[0] if x.dim() > 0 else 1) if self.scope == "sample" else 1
        cols = x.numel() // rows if rows > 0 else 0
        step = self.step
        self.step += 1
        first_unit = shard.row_offset if shard is not None and self.scope == "sample" else 0
        rates = [self._draw(step, first_unit + r) for r in range(rows)]
        q_cols = cols
        if active_count is not None:
            if active_count == "reduce":
                active_count = int(self.count_reduce(int((x > 0).sum())))
            total = shard.batch_rows * units
            if not isinstance(active_count, int) or not 0 <= active_count <= total:
                raise ValueError(
                    f"Cannot run {name} forward: active_count must be an integer in [0, {total}], "
                    f"got {active_count!r}"
                )
            counts = [active_count]
            q_cols = total
        elif self.normalize:
            counts = (x.reshape(rows, cols) > 0).sum(dim=1).tolist() if rows > 0 else []
        max_drop = _random.js_round(self.p_max * RATE_ONE)
        keeps, scales, stats = [], [], []
        for r in range(rows):
            drop = rates[r]
            if self.normalize:
                drop = 0 if counts[r] == 0 else min(rates[r] * q_cols // counts[r], max_drop)
            keep = RATE_ONE - drop
            scale = 0.0 if keep == 0 else _float32((keep / RATE_ONE) ** -self.rescale_power)
            keeps.append(keep)
            scales.append(scale)
            q_plus = (0.0 if q_cols == 0 else counts[r] / q_cols) if self.normalize else math.nan
            stats.append({"p": rates[r] / RATE_ONE, "q_plus": q_plus, "rate": 1 - keep / RATE_ONE, "scale": scale})
        self.last_stats = stats
        key = _random.mask_key(self.seed, step)
        index = (torch.arange(x.numel(), dtype=torch.int64, device=x.device) + offset) & 0xFFFFFFFF
        bits = _hash32(index ^ key) >> 8
        threshold = torch.tensor(keeps, dtype=torch.int64, device=x.device).repeat_interleave(cols)
        kept = (bits < threshold).reshape(x.shape)
        scale = torch.tensor(scales, dtype=torch.float32, device=x.device).repeat_interleave(cols).reshape(x.shape)
        return _MaskScaleFunction.apply(x, kept, scale)

    def _draw(self, step, unit):
        """The unit's rate p in units of 2^-24."""
        if not self.monotone:
            return _random.js_round(self.rate * RATE_ONE)
        z = _random.normal(self.seed, step, unit)
        p = min(self.p_min + abs(self.sigma * z), self.p_max)
        return _random.js_round(p * RATE_ONE)


class Dropout(Jumpout):
    """Plain inverted dropout, the library's `Dropout`: Jumpout with
    monotone=False, normalize=False and rescale_power=1, so the same masks."""

    def __init__(self, rate, seed=None, scope="batch"):
        super().__init__(monotone=False, normalize=False, rescale_power=1.0, rate=rate, seed=seed, scope=scope)

    def extra_repr(self):
        return f"rate={self.rate}, scope={self.scope!r}, seed={self.seed}"


def jumpout_layers(model):
    """The model's Jumpout and Dropout modules by name ("3", "3.body.4")."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, Jumpout)]


def shard_model(model, rank, world_size, batch_rows, q_plus="shard"):
    """Makes every Jumpout of `model` run rank `rank`'s rows of batches of
    `batch_rows` rows split across `world_size` processes as the library
    splits them (see shard_rows); returns (row_offset, rows). With
    q_plus="global", q+ is the whole batch's, summed with
    torch.distributed.all_reduce (the process group must be initialised);
    with "shard", each rank's own."""
    if q_plus not in ("shard", "global"):
        raise ValueError(f'Cannot shard a model: q_plus must be "shard" or "global", got {q_plus!r}')
    offset, rows = shard_rows(batch_rows, world_size)[rank]
    reduce = _all_reduce_sum if q_plus == "global" else None
    for _, layer in jumpout_layers(model):
        layer.shard = Shard(offset, batch_rows)
        layer.count_reduce = reduce if layer.scope == "batch" and layer.normalize else None
    return offset, rows


def _all_reduce_sum(count):
    """The sum of `count` over the default process group."""
    import torch.distributed as dist

    total = torch.tensor([count], dtype=torch.int64)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return int(total.item())


def _float32_overflows(x):
    return not math.isfinite(x) or abs(x) >= FLOAT32_MAX + 2**103


def _describe(x):
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor"
    return type(x).__name__
