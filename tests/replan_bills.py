"""The bills of the replan tests: January to June 2027 of a simulated FOCUS export, with the
reservation's Used hours at 75 % of the plan's (on-demand burst rows left out), so observed /
planned GPU-hours is 0.75 exactly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def first_half_at_75(export_dir: Path, out: Path) -> Path:
    """Write the bills (see the module) from the one CSV in ``export_dir`` to ``out``."""
    (export,) = sorted(export_dir.glob("*.csv"))
    df = pd.read_csv(export, dtype=str, keep_default_na=False)
    df = df[df["ChargePeriodStart"].str[:7] < "2027-07"]
    df = df[~((df["ChargeCategory"] == "Usage") & (df["PricingCategory"] == "Standard"))]
    used = df["CommitmentDiscountStatus"] == "Used"
    df.loc[used, "ConsumedQuantity"] = (df.loc[used, "ConsumedQuantity"].astype(float) * 0.75).map(
        repr
    )
    df.to_csv(out, index=False)
    return out
