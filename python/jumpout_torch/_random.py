"""Counter-based randomness, as the library's `src/random.ts`: every number is
a pure function of (seed, step, index), so any process draws the same ones.
"""

import math

from . import _libm

MASK_DOMAIN = 0x6D61736B  # "mask"
RATE_DOMAIN = 0x72617465  # "rate"
U32 = 0xFFFFFFFF


def hash32(x):
    """The 32-bit "lowbias32" hash of an unsigned 32-bit integer."""
    x &= U32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & U32
    x ^= x >> 15
    x = (x * 0x846CA68B) & U32
    return x ^ (x >> 16)


def mask_key(seed, step):
    """The key a step's mask hashes element indices with."""
    return hash32(hash32(seed ^ MASK_DOMAIN) ^ hash32((step + 0x9E3779B9) & U32))


def uniform(seed, step, unit, draw):
    """A number in (0, 1) with 53 random bits from (seed, step, unit, draw)."""
    base = hash32(hash32(hash32(seed ^ RATE_DOMAIN) ^ (step & U32)) ^ (unit & U32))
    hi = hash32(base ^ (2 * draw)) >> 5
    lo = hash32(base ^ (2 * draw + 1)) >> 6
    return (hi * 67108864 + lo + 0.5) / 9007199254740992


def normal(seed, step, unit):
    """A standard normal draw by Box-Muller, bit for bit the library's."""
    u1 = uniform(seed, step, unit, 0)
    u2 = uniform(seed, step, unit, 1)
    return math.sqrt(-2 * _libm.log(u1)) * _libm.cos(2 * math.pi * u2)


def js_round(x):
    """JavaScript's Math.round for a finite x >= 0: halves go up."""
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole
