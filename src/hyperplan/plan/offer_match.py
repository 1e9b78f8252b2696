"""Which catalog offers a scenario's ``match`` selects (``offers.exclude``, ``offers.overrides``).

Shared by :mod:`hyperplan.plan.inputs` and :mod:`hyperplan.plan.ends` (salvage per offer), so
neither imports the other for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hyperplan.catalog import normalize_accelerator

if TYPE_CHECKING:
    from hyperplan.scenario.schema import OfferMatch


def offer_mask(offers: pd.DataFrame, match: OfferMatch) -> np.ndarray:
    """(len(offers),) bool: the offers whose provider, region and instance type equal the match's
    (without case) and whose accelerator is the match's, where the match names them."""
    mask = np.ones(len(offers), dtype=bool)
    for column in ("provider", "region", "instance_type"):
        wanted = getattr(match, column)
        if wanted is not None:
            mask &= offers[column].str.lower().to_numpy() == wanted.lower()
    if match.accelerator is not None:
        mask &= offers["accelerator"].to_numpy() == normalize_accelerator(match.accelerator)
    return mask
