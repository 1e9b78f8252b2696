"""Performance per accelerator: inference tokens/s estimates and training equivalents.

Inference rule (an **estimate**; see ``docs/catalog.md``):

1. Take the MLPerf Inference (datacenter, closed) ``llama2-70b-99`` / ``llama2-70b-99.9`` rows of
   the accelerator in the requested scenario (``Server`` or ``Offline``), keep the newest round
   and, within it, the highest tokens/s per accelerator. Tokens are generated (output) tokens.
2. Scale to the workload's model by ``70 / model_params_b``: dense decoding costs about
   proportionally to the active parameters (pass *active* parameters for mixture-of-experts).
3. No MLPerf row: scale H100's figure (same rule) by the ratio of dense FP8 TFLOPS
   (``accelerators.csv``), or of dense BF16 TFLOPS when the accelerator has no FP8 figure
   (roofline-style: compute-bound scaling). No specs either: ``KeyError``.

Worked example: H100, v5.0 Server, 3888.3 tokens/s per GPU at 70B; at 405B:
3888.3 x 70 / 405 = 672.1 tokens/s per GPU.

Training rule: :func:`training_equivalents` = dense BF16 TFLOPS of the accelerator / that of the
reference (H100: 989.4).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from hyperplan.catalog.accelerators import (
    DATA_DIR,
    MissingSpecError,
    _specs_cached,
    normalize_accelerator,
)

#: Parameters (billions) of the MLPerf model used for the estimate (Llama 2 70B).
BENCHMARK_PARAMS_B: float = 70.0
#: MLPerf scenarios accepted by :func:`estimate_inference_tokens_per_s`.
SCENARIOS: tuple[str, ...] = ("Server", "Offline")
#: Reference accelerator for the roofline fallback.
REFERENCE_ACCELERATOR: str = "H100"


@functools.cache
def _throughput_cached() -> pd.DataFrame:
    df = pd.read_csv(DATA_DIR / "inference_throughput.csv")
    names = {n: normalize_accelerator(n) for n in df["accelerator"].unique()}
    df["accelerator"] = df["accelerator"].map(names)
    return df


def load_throughput() -> pd.DataFrame:
    """MLPerf inference rows (``inference_throughput.csv``) with canonical accelerator names.

    Returns:
        Columns as in the CSV: ``accelerator``, ``system``, ``model``, ``scenario``,
        ``tokens_per_second_total``, ``accelerators_in_system``,
        ``tokens_per_second_per_accelerator`` (output tokens/s per device), ``benchmark_round``,
        ``submitter``, ``source``.
    """
    return _throughput_cached().copy()


def _round_key(rounds: pd.Series) -> pd.Series:
    """Sortable number for ``v5.1``-style round names (5.1 -> 5001)."""
    parts = rounds.astype(str).str.extract(r"v?(\d+)\.(\d+)").astype(float)
    return parts[0] * 1000 + parts[1]


def _normalize_scenario(scenario: str) -> str:
    for s in SCENARIOS:
        if str(scenario).strip().lower() == s.lower():
            return s
    raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}; found {scenario!r}")


def mlperf_row(accelerator: str, scenario: str = "Server") -> pd.Series | None:
    """The MLPerf Llama 2 70B row used for ``accelerator`` (newest round, highest per device).

    Args:
        accelerator: any known accelerator name.
        scenario: ``Server`` or ``Offline`` (case-insensitive).

    Returns:
        The row, or ``None`` when the accelerator has no such row.
    """
    name = normalize_accelerator(accelerator)
    scen = _normalize_scenario(scenario)
    df = _throughput_cached()
    rows = df[
        (df["accelerator"] == name)
        & (df["scenario"] == scen)
        & df["model"].isin(["llama2-70b-99", "llama2-70b-99.9"])
    ]
    if rows.empty:
        return None
    key = _round_key(rows["benchmark_round"])
    newest = rows[key == key.max()]
    return newest.loc[newest["tokens_per_second_per_accelerator"].idxmax()]


def estimate_inference_tokens_per_s(
    accelerator: str, model_params_b: float = 70.0, scenario: str = "Server"
) -> tuple[float, str]:
    """Estimated output tokens/s per accelerator device for a dense model of a given size.

    Args:
        accelerator: any known accelerator name or alias.
        model_params_b: active parameters of the served model, billions (> 0).
        scenario: MLPerf scenario, ``Server`` (latency-bounded, the default) or ``Offline``.

    Returns:
        ``(tokens_per_s, basis)``: output tokens/s per device and a text saying which MLPerf row
        or which TFLOPS ratio was used. Always an estimate.

    Raises:
        KeyError: unknown accelerator, or no MLPerf row and no TFLOPS spec for it.
        ValueError: ``model_params_b`` not a positive number, or an unknown scenario.

    Examples:
        >>> round(estimate_inference_tokens_per_s("H100", 405)[0], 1)
        672.1
    """
    try:
        params = float(model_params_b)
    except (TypeError, ValueError):
        raise ValueError(f"model_params_b must be a number; found {model_params_b!r}") from None
    if not np.isfinite(params) or params <= 0:
        raise ValueError(f"model_params_b must be > 0 (billions); found {model_params_b!r}")
    name = normalize_accelerator(accelerator)
    if not name:
        raise MissingSpecError("CPU-only instances have no inference estimate")
    scen = _normalize_scenario(scenario)
    scale = BENCHMARK_PARAMS_B / params
    scale_txt = f"x 70/{params:g} (dense decode cost ~ active parameters)"

    row = mlperf_row(name, scen)
    if row is not None:
        per_dev = float(row["tokens_per_second_per_accelerator"])
        basis = (
            f"estimate: MLPerf Inference {row['benchmark_round']} closed {row['model']} {scen}, "
            f"{row['system']}: {per_dev:g} tok/s per {name} at 70B, {scale_txt}"
        )
        return per_dev * scale, basis

    ref = mlperf_row(REFERENCE_ACCELERATOR, scen)
    if ref is None:  # pragma: no cover - bundled data always has H100 rows
        raise MissingSpecError(f"no MLPerf {scen} row for {REFERENCE_ACCELERATOR}")
    specs = _specs_cached()
    acc, base = specs.loc[name], specs.loc[REFERENCE_ACCELERATOR]
    if not np.isnan(acc["fp8_tflops"]):
        prec, num, den = "fp8", float(acc["fp8_tflops"]), float(base["fp8_tflops"])
    elif not np.isnan(acc["bf16_tflops"]):
        prec, num, den = "bf16", float(acc["bf16_tflops"]), float(base["bf16_tflops"])
    else:
        raise MissingSpecError(
            f"no MLPerf llama2-70b {scen} row and no TFLOPS spec for {name}: "
            "cannot estimate its inference throughput; give tokens/s per instance explicitly"
        )
    ratio = num / den
    ref_dev = float(ref["tokens_per_second_per_accelerator"])
    basis = (
        f"estimate: no MLPerf llama2-70b {scen} row for {name}; {REFERENCE_ACCELERATOR} MLPerf "
        f"{ref['benchmark_round']} {scen} {ref_dev:g} tok/s x {prec} dense TFLOPS ratio "
        f"{num:g}/{den:g} = {ratio:.4f} (roofline-style scaling), {scale_txt}"
    )
    return ref_dev * ratio * scale, basis


def training_equivalents(accelerator: str, reference: str = "H100") -> float:
    """Training throughput of one accelerator in units of the reference accelerator.

    The ratio of dense BF16 TFLOPS (``accelerators.csv``): e.g. B200 2250 / H100 989.4 = 2.274.

    Args:
        accelerator: any known accelerator name or alias.
        reference: the reference accelerator (default ``H100``).

    Returns:
        Reference-accelerator equivalents per device.

    Raises:
        KeyError: unknown name, or no BF16 figure for either accelerator.
    """
    name = normalize_accelerator(accelerator)
    ref = normalize_accelerator(reference)
    specs = _specs_cached()
    for n in (name, ref):
        if not n or np.isnan(specs.at[n, "bf16_tflops"]):
            raise MissingSpecError(
                f"no dense BF16 TFLOPS figure for {n or 'a CPU-only instance'!r}"
            )
    return float(specs.at[name, "bf16_tflops"] / specs.at[ref, "bf16_tflops"])
