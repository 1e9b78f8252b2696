"""Managed model platforms' list prices: ``managed_model_prices.csv``.

Rows are USD per million input (prompt) and output (generated) tokens per platform, model and
mode (``on-demand``, ``batch``, ``provisioned``), each with its source (``data/SOURCES.md``,
"managed_model_prices.csv"). Empty cells stay NaN (the provisioned rows have no per-token price).

A scenario's managed platform can name a model (``catalog_model``) and take its prices from here:
the platform is the one of the scenario's ``provider`` (:data:`PLATFORM_OF_PROVIDER`) unless
``platform`` names it, and the first row in file order wins when several match (the file lists a
platform's global or standard deployment before its regional variants).

Examples:
    >>> from hyperplan.catalog.managed import find_managed_price
    >>> p = find_managed_price("Llama 3.3 70B Instruct", provider="aws")
    >>> (p.platform, p.input_usd_per_million_tokens, p.output_usd_per_million_tokens)
    ('Amazon Bedrock', 0.72, 0.72)
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

import pandas as pd

from hyperplan.catalog.accelerators import DATA_DIR

MANAGED_CSV = DATA_DIR / "managed_model_prices.csv"

#: The managed model platform of each cloud provider in the CSV.
PLATFORM_OF_PROVIDER: dict[str, str] = {
    "aws": "Amazon Bedrock",
    "gcp": "Google Vertex AI",
    "azure": "Azure AI Foundry / Azure OpenAI",
    "oci": "OCI Generative AI",
}


@dataclass(frozen=True)
class ManagedPrice:
    """One row of ``managed_model_prices.csv``: USD per million tokens, with its source."""

    platform: str
    model: str
    mode: str
    input_usd_per_million_tokens: float
    output_usd_per_million_tokens: float
    note: str
    source: str


@functools.cache
def _prices_cached() -> pd.DataFrame:
    df = pd.read_csv(MANAGED_CSV, keep_default_na=False, na_values=[""])
    for column in ("input_usd_per_million_tokens", "output_usd_per_million_tokens"):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    return df


def managed_prices() -> pd.DataFrame:
    """The whole ``managed_model_prices.csv`` (a fresh copy); empty cells are NaN."""
    return _prices_cached().copy()


def _key(text: str) -> str:
    """Model names compared without case, spacing or a trailing parenthesised note."""
    text = re.sub(r"\s*\([^)]*\)\s*$", "", str(text))
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


def find_managed_price(
    model: str,
    *,
    provider: str | None = None,
    platform: str | None = None,
    mode: str = "on-demand",
) -> ManagedPrice:
    """The price row of ``model`` on a platform (by name, or the provider's own platform).

    Names match case-insensitively, ignoring a trailing ``(...)`` note ("Llama 3.3 70B Instruct"
    finds Vertex AI's "Llama 3.3 70B Instruct (MaaS)"). An exact name is preferred.

    Raises:
        KeyError: no row for that model, platform and mode with both token prices (the message
            lists the models the platform has).
    """
    df = _prices_cached()
    if platform is None and provider is not None:
        platform = PLATFORM_OF_PROVIDER.get(provider.lower())
    rows = df[df["mode"].str.lower() == mode.lower()]
    if platform is not None:
        rows = rows[rows["platform"].str.lower() == platform.lower()]
    priced = rows.dropna(subset=["input_usd_per_million_tokens", "output_usd_per_million_tokens"])
    exact = priced[priced["model"].str.lower() == model.strip().lower()]
    loose = priced[priced["model"].map(_key) == _key(model)]
    hit = exact if len(exact) else loose
    if hit.empty:
        where = platform or "any platform"
        names = sorted(set(priced["model"]))
        close = difflib.get_close_matches(model, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(
            f"no {mode} token price for model {model!r} on {where} in managed_model_prices.csv."
            f"{hint} Known: {', '.join(names) or 'none'}; or give input_usd_per_million_tokens "
            "and output_usd_per_million_tokens yourself"
        )
    row = hit.iloc[0]
    return ManagedPrice(
        platform=str(row["platform"]),
        model=str(row["model"]),
        mode=str(row["mode"]),
        input_usd_per_million_tokens=float(row["input_usd_per_million_tokens"]),
        output_usd_per_million_tokens=float(row["output_usd_per_million_tokens"]),
        note=str(row["region_or_note"]),
        source=str(row["source"]),
    )
