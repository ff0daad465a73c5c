"""Bounded evaluation of scalar answer nodes: exact rationals first, then complex floats.

`exact` returns a `Fraction` when a value is rational and cheap to compute, `None` otherwise.
`numeric` evaluates at given values of the free symbols with Python complex floats, falling
back to mpmath (shipped with the ``math`` extra) when a float overflows. Every operation that
could be slow is capped before it starts: integer powers by the bit length of the result,
factorials by their argument, mpmath powers by the size of the exponent. A capped operation
raises `TooLarge`, which the verifier reports rather than waiting.
"""

from __future__ import annotations

import cmath
import hashlib
import math
import threading
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Final

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.rewards.math.nodes import (
    Add,
    Apply,
    BaseNum,
    Const,
    Func,
    Mul,
    Node,
    Num,
    Percent,
    Pow,
    Sym,
    walk,
)

try:  # imported up front: equal values are confirmed with mpmath on the common path
    from mpmath.ctx_mp import MPContext as _MPContext
except ImportError:  # pragma: no cover - mpmath comes with the math extra (and sympy)
    _MPContext = None

__all__ = [
    "MAX_EXACT_BITS",
    "MAX_FACTORIAL",
    "EvalError",
    "TooLarge",
    "exact",
    "free_symbols",
    "has_decimal",
    "numeric",
]

MAX_EXACT_BITS: Final = 400_000
"""Largest exact integer (in bits, about 120,000 digits) built by a power or a factorial;
building one costs a few milliseconds."""
MAX_FACTORIAL: Final = 25_000
"""Largest exact factorial (25000! has about 330,000 bits)."""
MAX_MP_EXPONENT: Final = 10**12
"""Largest |exponent| mpmath is asked to raise to; beyond it the value is refused."""


MAX_MP_ARGUMENT_BITS: Final = 4096
"""Largest argument (in bits of magnitude) of a periodic or exponential function evaluated
with mpmath; the cost of reducing the argument grows with its size."""
_REDUCING: Final = frozenset(
    {"sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "exp"}
)


class EvalError(RewardsmithError, ValueError):
    """The node has no value here (division by zero, unknown function, a container)."""


class TooLarge(EvalError):
    """Computing the value would take too long or too much memory: refused, not attempted."""


def free_symbols(node: Node) -> set[str]:
    """Names of the free variables (and opaque functions, as ``name()``) in a node."""
    found: set[str] = set()
    for current in walk(node):
        if isinstance(current, Sym):
            found.add(current.name)
        elif isinstance(current, Apply):
            found.add(current.name + "()")
    return found


def has_decimal(node: Node) -> bool:
    """Whether a decimal literal (``0.5``) appears: then comparison uses rounding tolerance."""
    return any(isinstance(n, Num) and bool(n.places) for n in walk(node))


# -- exact ------------------------------------------------------------------------------------


def exact(node: Node) -> Fraction | None:
    """The value of ``node`` as a rational number, or None when it is not (cheaply) rational.

    Raises:
        TooLarge: the value is rational but too big to build (``9999!``, ``10^{10^{10}}``).

    Example:
        >>> from rewardsmith.rewards.math.parser import parse_math
        >>> exact(parse_math(r"\\frac{3}{6} + 0.25"))
        Fraction(3, 4)
        >>> exact(parse_math(r"\\sqrt{2}")) is None
        True
    """
    try:
        return _exact(node)
    except (ZeroDivisionError, _NotRational):
        return None


class _NotRational(Exception):
    pass


def _exact(node: Node) -> Fraction:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Add):
        return sum((_exact(t) for t in node.terms), Fraction(0))
    if isinstance(node, Mul):
        result = Fraction(1)
        for factor in node.factors:
            result *= _exact(factor)
        return result
    if isinstance(node, Pow):
        return _exact_pow(_exact(node.base), node.exp)
    if isinstance(node, Func):
        return _exact_func(node)
    if isinstance(node, BaseNum):
        return Fraction(_base_value(node))
    raise _NotRational


def _exact_pow(base: Fraction, exp_node: Node) -> Fraction:
    exp = _exact(exp_node)
    if exp.denominator == 1:
        n = exp.numerator
        if base == 0 and n < 0:
            raise ZeroDivisionError
        if base in (0, 1) or n == 0:
            return Fraction(1) if n == 0 else base
        if base == -1:
            return Fraction(-1 if n % 2 else 1)
        bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length())
        if bits * abs(n) > MAX_EXACT_BITS:
            raise TooLarge(f"power with about {_size(bits * abs(n))} bits")
        return base**n
    # A rational root of a rational: exact only when it is a perfect power.
    if exp.denominator > 64 or abs(exp.numerator) > 64 or base < 0:
        raise _NotRational
    num = _int_root(base.numerator, exp.denominator)
    den = _int_root(base.denominator, exp.denominator)
    if num is None or den is None:
        raise _NotRational
    return _exact_pow(Fraction(num, den), Num(Fraction(exp.numerator)))


def _int_root(value: int, k: int) -> int | None:
    if value < 0:
        return None
    if value.bit_length() > MAX_EXACT_BITS:
        raise TooLarge("root of a huge integer")
    root = math.isqrt(value) if k == 2 else round(value ** (1.0 / k)) if value < 2**1000 else None
    if root is None:
        raise _NotRational
    for candidate in (root - 1, root, root + 1):
        if candidate >= 0 and candidate**k == value:
            return candidate
    return None


def _exact_func(node: Func) -> Fraction:
    name, args = node.name, node.args
    if name == "degrees":
        return _exact(args[0])
    if name == "sqrt":
        return _exact_pow(_exact(args[0]), Num(Fraction(1, 2)))
    if name == "root":
        return _exact_pow(_exact(args[0]), Pow(args[1], Num(Fraction(-1))))
    if name == "abs":
        return abs(_exact(args[0]))
    if name == "factorial":
        n = _exact(args[0])
        if n.denominator != 1 or n < 0:
            raise _NotRational
        if n > MAX_FACTORIAL:
            raise TooLarge(f"{_size(n)}! is too large to compute exactly")
        return Fraction(math.factorial(int(n)))
    if name == "binom":
        n, k = _exact(args[0]), _exact(args[1])
        if n.denominator != 1 or k.denominator != 1 or n < 0:
            raise _NotRational
        if n > MAX_FACTORIAL:
            raise TooLarge("binomial coefficient too large")
        return Fraction(math.comb(int(n), int(k)) if k >= 0 else 0)
    if name in ("floor", "ceil"):
        v = _exact(args[0])
        return Fraction(math.floor(v) if name == "floor" else math.ceil(v))
    if name == "gcd" or name == "lcm":
        values = [_exact(a) for a in args]
        if any(v.denominator != 1 for v in values):
            raise _NotRational
        fn = math.gcd if name == "gcd" else math.lcm
        return Fraction(fn(*(int(v) for v in values)))
    if name in ("max", "min"):
        values = [_exact(a) for a in args]
        return max(values) if name == "max" else min(values)
    raise _NotRational


def _size(n: int | Fraction) -> str:
    """``n`` for a message; a huge integer as its size (``str`` of one with more than 4,300
    digits raises ValueError, so a message about ``2^{3000!}`` must not print the exponent)."""
    whole = int(n)
    bits = whole.bit_length()
    return str(n) if bits < 3000 else f"a {bits}-bit number"


def _base_value(node: BaseNum) -> int:
    if not 2 <= node.base <= 36:
        raise EvalError(f"base {node.base}")
    try:
        return int(node.digits, node.base)
    except ValueError as exc:
        raise EvalError(f"{node.digits} is not a base-{node.base} number") from exc


# -- numeric ----------------------------------------------------------------------------------

_FUNCS_C: Final[dict[str, Any]] = {
    "sin": cmath.sin,
    "cos": cmath.cos,
    "tan": cmath.tan,
    "arcsin": cmath.asin,
    "arccos": cmath.acos,
    "arctan": cmath.atan,
    "sinh": cmath.sinh,
    "cosh": cmath.cosh,
    "tanh": cmath.tanh,
    "exp": cmath.exp,
    "ln": cmath.log,
    "log": cmath.log,
    "sec": lambda z: 1 / cmath.cos(z),
    "csc": lambda z: 1 / cmath.sin(z),
    "cot": lambda z: 1 / cmath.tan(z),
    "sqrt": cmath.sqrt,
    "arcsec": lambda z: cmath.acos(1 / z),
    "arccsc": lambda z: cmath.asin(1 / z),
    "arccot": lambda z: cmath.atan(1 / z),
}


def numeric(node: Node, env: Mapping[str, complex]) -> complex:
    """The value of a scalar node as a complex float, symbols taken from ``env``.

    Raises:
        EvalError: no value (a container, a pole, an unknown symbol).
        TooLarge: the value overflows a float (use `numeric_mp`).
    """
    try:
        value = _num(node, env)
    except ZeroDivisionError as exc:
        raise EvalError("division by zero") from exc
    except OverflowError as exc:
        raise TooLarge("float overflow") from exc
    except (ValueError, TypeError) as exc:
        if isinstance(exc, EvalError):
            raise
        raise EvalError(str(exc)) from exc
    if cmath.isnan(value) or cmath.isinf(value):
        raise TooLarge("value is not finite in floating point")
    return value


def _num(node: Node, env: Mapping[str, complex]) -> complex:
    if isinstance(node, Num):
        return complex(float(node.value))
    if isinstance(node, Sym):
        if node.name not in env:
            raise EvalError(f"unknown symbol {node.name}")
        return env[node.name]
    if isinstance(node, Const):
        if node.name == "pi":
            return complex(math.pi)
        if node.name == "e":
            return complex(math.e)
        if node.name == "i":
            return 1j
        raise EvalError("infinity has no numeric value")
    if isinstance(node, Add):
        return sum((_num(t, env) for t in node.terms), 0j)
    if isinstance(node, Mul):
        result = 1 + 0j
        for factor in node.factors:
            result *= _num(factor, env)
        return result
    if isinstance(node, Pow):
        base = _num(node.base, env)
        exp = _num(node.exp, env)
        if exp.imag == 0 and exp.real == int(exp.real) and abs(exp.real) <= 4096:
            n = int(exp.real)
            if base == 0 and n < 0:
                raise ZeroDivisionError
            return base**n
        if base == 0:
            if exp.real > 0:
                return 0j
            raise ZeroDivisionError
        if abs(exp) > 1e6:
            raise OverflowError
        if base.imag == 0 and base.real > 0 and exp.imag == 0:
            return complex(base.real**exp.real)
        odd = _odd_root_exponent(node.exp)
        if odd is not None and base.imag == 0:
            # (-8)^{1/3} = -2 and (x^2-2)^{5/3} is real: the real root, as \sqrt[3]{} gives
            sign = -1.0 if odd.numerator % 2 else 1.0
            return complex(sign * (-base.real) ** float(odd))
        return cmath.exp(exp * cmath.log(base))
    if isinstance(node, Percent):
        return _num(node.arg, env) / 100
    if isinstance(node, Func):
        return _num_func(node, env)
    if isinstance(node, Apply):
        return _opaque(node.name, [_num(a, env) for a in node.args])
    if isinstance(node, BaseNum):
        return complex(_base_value(node))
    raise EvalError(f"{type(node).__name__} has no scalar value")


def _odd_root_exponent(exp: Node) -> Fraction | None:
    """The exponent as a fraction with an odd denominator (> 1), or None."""
    try:
        value = exact(exp)
    except TooLarge:
        return None
    if value is None or value.denominator == 1 or value.denominator % 2 == 0:
        return None
    return value


def _num_func(node: Func, env: Mapping[str, complex]) -> complex:
    name = node.name
    if name == "degrees":
        return _num(node.args[0], env)
    # An angle in degrees inside a function is converted: sin(30°) = sin(pi/6).
    args = [
        _num(a.args[0], env) * (math.pi / 180)
        if isinstance(a, Func) and a.name == "degrees"
        else _num(a, env)
        for a in node.args
    ]
    if name in _FUNCS_C and len(args) == 1:
        return _FUNCS_C[name](args[0])
    if name == "root":
        value, k = args
        if value.imag == 0 and value.real < 0 and k.imag == 0 and int(k.real) % 2 == 1:
            return -complex((-value.real) ** (1 / k.real))
        return cmath.exp(cmath.log(value) / k) if value != 0 else 0j
    if name == "logb":
        return cmath.log(args[0]) / cmath.log(args[1])
    if name == "abs":
        return complex(abs(args[0]))
    if name == "factorial":
        x = args[0]
        if x.imag != 0 or x.real > 170:
            raise OverflowError
        return complex(math.gamma(x.real + 1))
    if name == "binom":
        n, k = args[0].real, args[1].real
        if n > 1000:
            raise OverflowError
        return complex(math.gamma(n + 1) / (math.gamma(k + 1) * math.gamma(n - k + 1)))
    if name in ("floor", "ceil"):
        fn = math.floor if name == "floor" else math.ceil
        return complex(fn(args[0].real))
    if name in ("max", "min"):
        reals = [a.real for a in args]
        return complex(max(reals) if name == "max" else min(reals))
    raise EvalError(f"cannot evaluate {name}")


def _opaque(name: str, args: list[complex]) -> complex:
    """A fixed, smooth, name-dependent function: ``f(x)`` equals ``f(x)`` and not ``g(x)``."""
    seed = hashlib.blake2b(name.encode(), digest_size=8).digest()
    a, b = 0.5 + seed[0] / 255, 0.5 + seed[1] / 255
    total = complex(seed[2] / 255)
    for position, z in enumerate(args, 1):
        total += cmath.sin(a * z + position) + b * z * position
    return total


# -- high precision fallback ------------------------------------------------------------------


def numeric_mp(node: Node, env: Mapping[str, complex], digits: int = 40) -> Any:
    """Like `numeric` with mpmath at ``digits`` significant digits, for values floats lose.

    Raises:
        EvalError: no value, or mpmath is not installed.
        TooLarge: an exponent beyond `MAX_MP_EXPONENT`.
    """
    try:
        ctx = _mp_context(digits)
    except ImportError as exc:  # pragma: no cover - mpmath comes with the math extra
        raise EvalError("mpmath is not installed (pip install 'rewardsmith[math]')") from exc
    try:
        return _mp(node, env, ctx)
    except ZeroDivisionError as exc:
        raise EvalError("division by zero") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, EvalError):
            raise
        raise EvalError(str(exc)) from exc


_LOCAL: Final = threading.local()


def _mp_context(digits: int) -> Any:
    # A private context per thread: mpmath's global `mp.dps` is shared process state, and
    # changing it would race with other threads (and with the caller's own mpmath use).
    if _MPContext is None:
        raise ImportError("mpmath")
    ctx = getattr(_LOCAL, "ctx", None)
    if ctx is None:
        ctx = _LOCAL.ctx = _MPContext()
    ctx.dps = digits
    return ctx


def _mp(node: Node, env: Mapping[str, complex], mp: Any) -> Any:
    if isinstance(node, Num):
        return mp.mpf(node.value.numerator) / node.value.denominator
    if isinstance(node, Sym):
        if node.name not in env:
            raise EvalError(f"unknown symbol {node.name}")
        value = env[node.name]
        return mp.mpf(value.real) if value.imag == 0 else mp.mpc(value)
    if isinstance(node, Const):
        return {"pi": mp.pi, "e": mp.e, "i": mp.mpc(0, 1)}.get(node.name) or _raise_inf()
    if isinstance(node, Add):
        return mp.fsum(_mp(t, env, mp) for t in node.terms)
    if isinstance(node, Mul):
        result = mp.mpf(1)
        for factor in node.factors:
            result *= _mp(factor, env, mp)
        return result
    if isinstance(node, Pow):
        base = _mp(node.base, env, mp)
        exp = _mp(node.exp, env, mp)
        magnitude = abs(exp) * abs(mp.log(abs(base))) if base != 0 else 0
        if magnitude > MAX_MP_EXPONENT:
            raise TooLarge("power too large even for arbitrary precision")
        odd = _odd_root_exponent(node.exp)
        if odd is not None and mp.im(base) == 0 and mp.re(base) < 0:
            sign = -1 if odd.numerator % 2 else 1
            return sign * mp.power(-mp.re(base), mp.mpf(odd.numerator) / odd.denominator)
        return mp.power(base, exp)
    if isinstance(node, Percent):
        return _mp(node.arg, env, mp) / 100
    if isinstance(node, Func):
        name = node.name
        if name == "degrees":
            return _mp(node.args[0], env, mp)
        args = [
            _mp(a.args[0], env, mp) * mp.pi / 180
            if isinstance(a, Func) and a.name == "degrees"
            else _mp(a, env, mp)
            for a in node.args
        ]
        if name in _REDUCING and len(args) == 1 and mp.mag(args[0]) > MAX_MP_ARGUMENT_BITS:
            # cos(2 pi 10^{10^6}) reduces its argument modulo pi with as many digits as the
            # argument has: minutes of work for one row. Refused instead.
            raise TooLarge(f"{name} of a number of about {int(mp.mag(args[0]))} bits")
        if name == "factorial":
            if abs(args[0]) > MAX_MP_EXPONENT:
                raise TooLarge("factorial too large")
            return mp.factorial(args[0])
        if name == "binom":
            if max(abs(args[0]), abs(args[1])) > MAX_MP_EXPONENT:
                raise TooLarge("binomial coefficient too large")
            return mp.binomial(args[0], args[1])
        if name == "sqrt":
            return mp.sqrt(args[0])
        if name == "root":
            value, k = args
            if mp.im(value) == 0 and mp.re(value) < 0 and mp.im(k) == 0 and int(mp.re(k)) % 2:
                return -mp.power(-mp.re(value), 1 / mp.re(k))  # the real odd root
            return mp.power(value, 1 / k)
        if name == "abs":
            return abs(args[0])
        if name in ("ln", "log"):
            return mp.log(args[0])
        if name == "logb":
            return mp.log(args[0]) / mp.log(args[1])
        if name == "exp":
            return mp.exp(args[0])
        fn = getattr(
            mp, {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}.get(name, name), None
        )
        if fn is None or len(args) != 1:
            raise EvalError(f"cannot evaluate {name}")
        return fn(args[0])
    if isinstance(node, BaseNum):
        return mp.mpf(_base_value(node))
    if isinstance(node, Apply):
        return mp.mpc(_opaque(node.name, [complex(_mp(a, env, mp)) for a in node.args]))
    raise EvalError(f"{type(node).__name__} has no scalar value")


def _raise_inf() -> Any:
    raise EvalError("infinity has no numeric value")
