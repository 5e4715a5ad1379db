"""Correctly rounded natural logarithm and cosine of doubles.

The library draws Jumpout's rates with JavaScript's Math.log and Math.cos,
which V8 (Deno, Chrome, Node) computes correctly rounded. Python's math.log
and math.cos call the C library, whose results can be one unit in the last
place away; a rate rounded to 2^-24 could then differ. These functions give
the double nearest the true value: they evaluate it to 60 significant digits
with the decimal module (ln is correctly rounded there; cos is a Taylor series
after reduction by a 110-digit pi), then round that once to a double.
"""

from decimal import Decimal, localcontext

PRECISION = 60

# pi to 110 significant digits.
_PI = Decimal(
    "3.14159265358979323846264338327950288419716939937510582097494459"
    "230781640628620899862803482534211706798214808651"
)


def log(x):
    """ln(x) for a finite double x > 0, correctly rounded."""
    with localcontext() as context:
        context.prec = PRECISION
        return float(Decimal(x).ln())


def cos(x):
    """cos(x) for a finite double x, correctly rounded."""
    with localcontext() as context:
        context.prec = PRECISION + 20
        d = Decimal(x)
        two_pi = 2 * _PI
        d -= (d / two_pi).to_integral_value() * two_pi
        square = d * d
        term = Decimal(1)
        total = Decimal(1)
        tiny = Decimal(10) ** -(PRECISION + 15)
        n = 0
        while abs(term) > tiny:
            n += 2
            term = -term * square / (n * (n - 1))
            total += term
        context.prec = PRECISION
        return float(+total)
