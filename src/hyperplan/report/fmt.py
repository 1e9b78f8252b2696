"""Numbers formatted for people, the same way in the terminal and in HTML.

>>> usd(1.234e9)
'USD 1.23B'
>>> power_mw(30_200)
'30.2 GW'
>>> pct(0.4871)
'48.7%'

Every function accepts ``None``, NaN and infinities (shown as '–', '∞', '-∞'), numpy scalars
and negative numbers, and never shows a negative zero ('-0.0%'). Three significant digits
by default; a value that rounds up to the next power of ten moves to the next scale
(999.5 → '1.00k', 999_500 → '1.00M', 999.6 MW → '1.00 GW').
"""

from __future__ import annotations

import math

_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
MISSING = "–"


def _float(value: object) -> float | None:
    """``value`` as a float; None for None, NaN and anything that is not a number."""
    if value is None:
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _inf(v: float) -> str:
    return "∞" if v > 0 else "-∞"


def _sign(v: float, text: str) -> str:
    """``text`` (the formatted absolute value) with a minus sign unless it shows as zero."""
    if v < 0 and any(c in "123456789" for c in text):
        return "-" + text
    return text


def _sig(v: float, digits: int) -> str:
    """``v`` (≥ 0) with ``digits`` significant digits, no exponent: 9.996 → '10.0'."""
    if v == 0:
        return "0"
    magnitude = math.floor(math.log10(v))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{v:.{decimals}f}"
    if decimals > 0 and len(text.replace(".", "").lstrip("0")) > digits:
        # rounding carried into a new digit (9.996 → '10.00'): one decimal fewer
        text = f"{v:.{decimals - 1}f}"
    return text


def _scaled(v: float, digits: int) -> str:
    """Absolute value ``v`` with a k/M/B/T suffix (3 significant digits by default)."""
    for scale, suffix in _SCALES:
        if v >= scale * (1 - 0.5 * 10.0**-digits):
            return f"{_sig(v / scale, digits)}{suffix}"
    return _sig(v, digits)


def compact(value: float, digits: int = 3) -> str:
    """A number with a k/M/B/T suffix and ``digits`` significant digits: 1234567 → '1.23M'."""
    v = _float(value)
    if v is None:
        return MISSING
    if math.isinf(v):
        return _inf(v)
    return _sign(v, _scaled(abs(v), digits))


def usd(value: float, digits: int = 3) -> str:
    """USD with a scale suffix: 1.234e9 → 'USD 1.23B'; below 1000 it keeps cents: 'USD 12.50'."""
    v = _float(value)
    if v is None:
        return f"USD {MISSING}"
    if math.isinf(v):
        return f"USD {_inf(v)}"
    a = abs(v)
    if round(a, 2) < 1000:
        return f"USD {_sign(v, f'{a:,.2f}')}"
    return f"USD {_sign(v, _scaled(a, digits))}"


def usd_rate(value: float) -> str:
    """A price per unit, with up to 4 significant digits: 6.88 → '6.88', 0.01234 → '0.01234'."""
    v = _float(value)
    if v is None:
        return MISSING
    if math.isinf(v):
        return _inf(v)
    if v == 0:
        return "0"
    if abs(v) >= 999.95:
        return compact(v, 4)
    return _sign(v, f"{abs(v):.4g}")


def power_mw(mw: float) -> str:
    """MW below 1000, GW above, kW below 1: 850 → '850 MW', 30200 → '30.2 GW', 0.5 → '500 kW'."""
    v = _float(mw)
    if v is None:
        return MISSING
    if math.isinf(v):
        return f"{_inf(v)} MW"
    if v == 0:
        return "0 MW"
    a = abs(v)
    if a >= 999.5:
        return _sign(v, f"{_sig(a / 1000, 3)} GW")
    if a >= 0.9995:
        return _sign(v, f"{_sig(a, 3)} MW")
    return _sign(v, f"{a * 1000:.0f} kW")


def gw(mw: float, digits: int = 1) -> str:
    """Power in GW with fixed decimals, for headline comparisons: 30200 → '30.2 GW'."""
    v = _float(mw)
    if v is None:
        return MISSING
    if math.isinf(v):
        return f"{_inf(v)} GW"
    return _sign(v, f"{abs(v) / 1000:,.{digits}f}") + " GW"


def pct(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.4871 → '48.7%'."""
    v = _float(fraction)
    if v is None:
        return MISSING
    if math.isinf(v):
        return f"{_inf(v)}%"
    return _sign(v, f"{abs(v) * 100:.{decimals}f}") + "%"


def count(value: float) -> str:
    """A count of instances or GPUs: 1234567 → '1.23M', 812.4 → '812', 1234.4 → '1.23k'."""
    v = _float(value)
    if v is None:
        return MISSING
    if math.isinf(v):
        return _inf(v)
    if round(abs(v)) < 1000:
        return _sign(v, f"{abs(v):,.0f}")
    return compact(v)


def hours(value: float) -> str:
    """A duration in hours, 3 significant digits without trailing zeros: 8 → '8 h',
    0.25 → '0.25 h', 14.5 → '14.5 h', 1234 → '1.23k h'."""
    v = _float(value)
    if v is None:
        return MISSING
    if math.isinf(v):
        return f"{_inf(v)} h"
    text = compact(v)
    if text[-1].isdigit() and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} h"


def signed_usd(value: float, digits: int = 3) -> str:
    """A change in USD with an explicit sign: 1.2e9 → '+USD 1.20B', -5e6 → '-USD 5.00M'."""
    v = _float(value)
    text = usd(None if v is None else abs(v), digits)
    if v is None or text in ("USD 0.00",):
        return text
    return ("+" if v > 0 else "-") + text


def pp(difference: float, decimals: int = 2) -> str:
    """A difference of two fractions in percentage points, signed: 0.0196 → '+1.96 pp',
    -0.00001 → '0.00 pp' (no sign on what shows as zero)."""
    v = _float(difference)
    if v is None:
        return MISSING
    if math.isinf(v):
        return f"{'+' if v > 0 else '-'}∞ pp"
    text = f"{abs(v) * 100:.{decimals}f}"
    if not any(c in "123456789" for c in text):
        return f"{text} pp"
    return ("+" if v > 0 else "-") + text + " pp"


def signed(value: float, digits: int = 3) -> str:
    """A change of a count or quantity, signed, with a k/M/B suffix: 1234 → '+1.23k'."""
    v = _float(value)
    if v is None:
        return MISSING
    text = compact(abs(v), digits)
    if v == 0 or not any(c in "123456789" for c in text):
        return text
    return ("+" if v > 0 else "-") + text


def difference(value: float, unit: str) -> str:
    """A paired difference in its unit: USD → :func:`signed_usd`, a share → :func:`pp`,
    anything else → :func:`signed`."""
    u = (unit or "").strip().lower()
    if u.startswith("usd"):
        return signed_usd(value)
    if u.startswith("share") or "fraction" in u:
        return pp(value)
    return signed(value)


def metric(value: float, unit: str) -> str:
    """A value in the format its unit calls for (simulation metrics, generic tables).

    ``unit`` is matched loosely: 'USD…' → :func:`usd`, 'share…'/'fraction' → :func:`pct`,
    'hours…' → :func:`hours`, 'MW' → :func:`power_mw`, anything else → :func:`compact`.
    """
    u = (unit or "").strip().lower()
    if u.startswith("usd"):
        return usd(value)
    if u.startswith("share") or "fraction" in u or u.startswith("useful /"):
        return pct(value)
    if u.startswith("hours"):
        return hours(value)
    if u.startswith("mw"):
        return power_mw(value)
    return compact(value)
