"""Numbers for people (hyperplan.report.fmt): exact strings, edge cases and rounding boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from hyperplan.report import fmt

NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "USD 0.00"),
        (0.004, "USD 0.00"),
        (-0.004, "USD 0.00"),  # never a negative zero
        (12.5, "USD 12.50"),
        (999.99, "USD 999.99"),
        (999.996, "USD 1.00k"),  # rounds to 1000.00: moves to the next scale
        (1000, "USD 1.00k"),
        (1234, "USD 1.23k"),
        (99_949, "USD 99.9k"),
        (99_950, "USD 100k"),
        (999_499, "USD 999k"),
        (999_500, "USD 1.00M"),
        (1.234e9, "USD 1.23B"),
        (503_056_120_761.49, "USD 503B"),
        (1.06e12, "USD 1.06T"),
        (-5_000_000, "USD -5.00M"),
        (-12.5, "USD -12.50"),
        (NAN, "USD –"),
        (None, "USD –"),
        (INF, "USD ∞"),
        (-INF, "USD -∞"),
        (np.float64(2.5e6), "USD 2.50M"),
        (np.float32(2.5e6), "USD 2.50M"),
        (np.int64(7), "USD 7.00"),
    ],
)
def test_usd(value: float, expected: str) -> None:
    assert fmt.usd(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (0.5, "0.500"),
        (9.996, "10.0"),  # rounding carries: still three significant digits
        (99.96, "100"),
        (999.4, "999"),
        (999.5, "1.00k"),
        (1234567, "1.23M"),
        (-1234567, "-1.23M"),
        (-0.0001, "-0.000100"),
        (1e15, "1000T"),
        (NAN, "–"),
        (INF, "∞"),
        (-INF, "-∞"),
        ("not a number", "–"),
    ],
)
def test_compact(value: object, expected: str) -> None:
    assert fmt.compact(value) == expected  # type: ignore[arg-type]


def test_negative_values_that_round_to_zero_have_no_sign() -> None:
    assert fmt.pct(-1e-9) == "0.0%"
    assert fmt.usd(-0.001) == "USD 0.00"
    assert fmt.count(-0.4) == "0"
    assert fmt.gw(-0.01) == "0.0 GW"


@pytest.mark.parametrize(
    ("mw", "expected"),
    [
        (0, "0 MW"),
        (0.5, "500 kW"),
        (0.9994, "999 kW"),
        (0.9995, "1.00 MW"),
        (12.24, "12.2 MW"),
        (850, "850 MW"),
        (999.4, "999 MW"),
        (999.5, "1.00 GW"),  # not '1000 MW'
        (30_200, "30.2 GW"),
        (-5, "-5.00 MW"),
        (NAN, "–"),
        (INF, "∞ MW"),
    ],
)
def test_power_mw(mw: float, expected: str) -> None:
    assert fmt.power_mw(mw) == expected


@pytest.mark.parametrize(
    ("fraction", "decimals", "expected"),
    [
        (0.4871, 1, "48.7%"),
        (0, 1, "0.0%"),
        (1, 0, "100%"),
        (0.33988, 0, "34%"),
        (0.9995, 1, "100.0%"),  # 99.95 → '100.0' (float 99.9499… would say 99.9)
        (-0.0004, 1, "0.0%"),
        (-0.25, 1, "-25.0%"),
        (1.5, 1, "150.0%"),
        (NAN, 1, "–"),
        (None, 1, "–"),
        (INF, 1, "∞%"),
    ],
)
def test_pct(fraction: float, decimals: int, expected: str) -> None:
    assert fmt.pct(fraction, decimals) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (812.4, "812"),
        (999.4, "999"),
        (999.5, "1.00k"),
        (1234.4, "1.23k"),
        (6_150_000, "6.15M"),
        (-3, "-3"),
        (-0.4, "0"),
        (NAN, "–"),
        (INF, "∞"),
    ],
)
def test_count(value: float, expected: str) -> None:
    assert fmt.count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6.88, "6.88"),
        (0.01234, "0.01234"),
        (0, "0"),
        (38.19776, "38.2"),
        (999.94, "999.9"),
        (999.96, "1.000k"),
        (1234.5, "1.234k"),
        (-2.5, "-2.5"),
        (NAN, "–"),
        (INF, "∞"),
    ],
)
def test_usd_rate(value: float, expected: str) -> None:
    assert fmt.usd_rate(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (8, "8 h"),
        (12.0, "12 h"),
        (7.5, "7.5 h"),
        (0.25, "0.25 h"),
        (1234, "1.23k h"),
        (0, "0 h"),
        (NAN, "–"),
        (INF, "∞ h"),
    ],
)
def test_hours(value: float, expected: str) -> None:
    assert fmt.hours(value) == expected


def test_gw_and_signed_usd() -> None:
    assert fmt.gw(30_200) == "30.2 GW"
    assert fmt.gw(14_049.9) == "14.0 GW"
    assert fmt.gw(0) == "0.0 GW"
    assert fmt.gw(NAN) == "–"
    assert fmt.signed_usd(1.2e9) == "+USD 1.20B"
    assert fmt.signed_usd(-5e6) == "-USD 5.00M"
    assert fmt.signed_usd(0) == "USD 0.00"
    assert fmt.signed_usd(NAN) == "USD –"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.9876, "share of demand (demand-weighted over the window)", "98.8%"),
        (0.97, "useful / paid GPU-hours", "97.0%"),
        (2.87e10, "USD", "USD 28.7B"),
        (32.5, "hours below SLO", "32.5 h"),
        (1816, "count", "1.82k"),
        (2.4e7, "GPU-hours", "24.0M"),
        (850, "MW", "850 MW"),
        (3, "", "3.00"),
    ],
)
def test_metric_by_unit(value: float, unit: str, expected: str) -> None:
    assert fmt.metric(value, unit) == expected


def test_same_numbers_everywhere_headline_examples() -> None:
    """The three examples of the issue: USD 1.23B, 30.2 GW, 48.7%."""
    assert fmt.usd(1.23e9) == "USD 1.23B"
    assert fmt.power_mw(30_200) == "30.2 GW"
    assert fmt.pct(0.487) == "48.7%"
