"""Numbers formatted for people, the same way in the terminal and in HTML.

>>> usd(1.234e9)
'USD 1.23B'
>>> power_mw(30_200)
'30.2 GW'
>>> pct(0.4871)
'48.7%'
"""

from __future__ import annotations

import math

_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def compact(value: float, digits: int = 3) -> str:
    """A number with a k/M/B/T suffix and ``digits`` significant digits: 1234567 → '1.23M'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    sign = "-" if value < 0 else ""
    v = abs(value)
    for scale, suffix in _SCALES:
        if v >= scale * 0.9995:
            return f"{sign}{_sig(v / scale, digits)}{suffix}"
    return f"{sign}{_sig(v, digits)}"


def _sig(v: float, digits: int) -> str:
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(v))))
    text = f"{v:.{decimals}f}"
    return text


def usd(value: float, digits: int = 3) -> str:
    """USD with a scale suffix: 1.234e9 → 'USD 1.23B'; small amounts keep cents."""
    if (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and abs(value) < 1000
    ):
        return f"USD {value:,.2f}"
    return f"USD {compact(value, digits)}"


def usd_rate(value: float) -> str:
    """A price per unit, with up to 4 significant digits: 6.88 → '6.88', 0.01234 → '0.01234'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return compact(value, 4)
    return f"{value:.4g}"


def power_mw(mw: float) -> str:
    """MW below 1000, GW above: 850 → '850 MW', 30200 → '30.2 GW'."""
    if mw is None or (isinstance(mw, float) and math.isnan(mw)):
        return "–"
    if abs(mw) >= 1000:
        return f"{_sig(mw / 1000, 3)} GW"
    if abs(mw) >= 1:
        return f"{_sig(mw, 3)} MW"
    return f"{mw * 1000:.0f} kW"


def pct(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.4871 → '48.7%'."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "–"
    return f"{fraction * 100:.{decimals}f}%"


def count(value: float) -> str:
    """A count of instances or GPUs: 1234567 → '1.23M', 812.4 → '812'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) < 1000:
        return f"{value:,.0f}"
    return compact(value)
