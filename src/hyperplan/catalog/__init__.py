"""The catalog: what can be bought, where, at what price, with how much power and performance.

Public names:

* :func:`load_catalog` -> :class:`Catalog` (offers, accelerators, MLPerf throughput, discounts);
* :func:`normalize_accelerator`, :func:`known_accelerators`;
* :func:`estimate_inference_tokens_per_s`, :func:`training_equivalents`;
* :func:`geo_of_region`.

Rules and numbers are documented in ``docs/catalog.md``.

Examples:
    >>> from hyperplan.catalog import load_catalog
    >>> cat = load_catalog()
    >>> cat.offers.loc["aws:us-east-1:p5.48xlarge", "usd_per_gpu_hour"]
    np.float64(6.88)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from hyperplan.catalog.accelerators import (
    CatalogKeyError,
    MissingSpecError,
    UnknownAcceleratorError,
    _specs_cached,
    known_accelerators,
    normalize_accelerator,
)
from hyperplan.catalog.discounts import _discounts_cached
from hyperplan.catalog.geo import geo_of_region
from hyperplan.catalog.importers import read_skypilot_csv, read_user_csv
from hyperplan.catalog.offers import (
    OFFER_COLUMNS,
    _bundled_offers_cached,
    _bundled_raw_cached,
    derive_offers,
    merge_raw,
)
from hyperplan.catalog.perf import (
    _throughput_cached,
    estimate_inference_tokens_per_s,
    training_equivalents,
)

__all__ = [
    "OFFER_COLUMNS",
    "Catalog",
    "CatalogKeyError",
    "MissingSpecError",
    "UnknownAcceleratorError",
    "estimate_inference_tokens_per_s",
    "geo_of_region",
    "known_accelerators",
    "load_catalog",
    "normalize_accelerator",
    "training_equivalents",
]

Selector = str | Sequence[str] | None


def _as_list(value: Selector) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


@dataclass(frozen=True, eq=False)
class Catalog:
    """Offers, accelerator specs, MLPerf throughput and commitment discounts.

    Attributes:
        offers: one row per offer, index ``offer_id`` (``provider:region:instance_type``),
            columns :data:`OFFER_COLUMNS` (prices USD per instance-hour or per GPU-hour, power kW
            per instance).
        accelerators: specs indexed by canonical name: ``vendor``, ``memory_gb``,
            ``bf16_tflops``, ``fp8_tflops`` (dense), ``tdp_w``, ``source``.
        throughput: MLPerf inference rows, accelerator names canonical.
        discounts: ``commitment_discounts.csv``.
    """

    offers: pd.DataFrame
    accelerators: pd.DataFrame
    throughput: pd.DataFrame
    discounts: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self.offers)} offers, {len(self.accelerators)} accelerators, "
            f"{len(self.throughput)} MLPerf rows, {len(self.discounts)} discount rows)"
        )

    def filter(
        self,
        provider: Selector = None,
        accelerator: Selector = None,
        region: Selector = None,
        geo: Selector = None,
    ) -> pd.DataFrame:
        """Offers matching every given selector (case-insensitive).

        Args:
            provider: provider name(s), e.g. ``"aws"`` or ``["aws", "gcp"]``.
            accelerator: accelerator name(s), matched after normalisation (``"h100-mega"``
                selects ``H100``); ``""`` selects CPU-only offers.
            region: region code(s).
            geo: geo tag(s) (``us``, ``eu``, ``ap``, ...).

        Returns:
            The matching rows of :attr:`offers` (a copy).

        Raises:
            UnknownAcceleratorError: an accelerator name is unknown (with a suggestion).
        """
        df = self.offers
        mask = pd.Series(True, index=df.index)
        for column, wanted in (("provider", provider), ("region", region), ("geo", geo)):
            values = _as_list(wanted)
            if values is not None:
                low = {v.strip().lower() for v in values}
                mask &= df[column].str.lower().isin(low)
        names = _as_list(accelerator)
        if names is not None:
            canon = {normalize_accelerator(a) for a in names}
            mask &= df["accelerator"].isin(canon)
        return df[mask].copy()


@functools.lru_cache(maxsize=1)
def _bundled_catalog() -> Catalog:
    return Catalog(
        offers=_bundled_offers_cached(),
        accelerators=_specs_cached(),
        throughput=_throughput_cached(),
        discounts=_discounts_cached(),
    )


def load_catalog(
    user_csvs: Iterable[str | os.PathLike[str]] = (),
    skypilot: Iterable[tuple[str | os.PathLike[str], str]] = (),
) -> Catalog:
    """Load the bundled catalog, merged with the user's offers.

    Merge order (later wins for the same ``offer_id``, compared case-insensitively): bundled
    ``gpu_offers.csv``, then each SkyPilot catalog, then each user CSV.

    Args:
        user_csvs: paths of user offer CSVs (``gpu_offers.csv`` columns plus optional
            ``reserved_1y_usd_per_hour``, ``reserved_3y_usd_per_hour``, ``kw_per_instance``).
        skypilot: ``(path, provider)`` pairs of SkyPilot catalog ``vms.csv`` files.

    Returns:
        A :class:`Catalog` whose frames are fresh copies (mutating them does not touch the cache).

    Raises:
        InputError: located problems in a user or SkyPilot file.

    Example::

        >>> from hyperplan import load_catalog
        >>> catalog = load_catalog()
        >>> h100 = catalog.filter(provider="aws", accelerator="H100")
        >>> len(h100) > 0, set(h100["accelerator"])
        (True, {'H100'})
    """
    if isinstance(user_csvs, str | os.PathLike):
        user_csvs = [user_csvs]
    user_list = list(user_csvs)
    sky_list = list(skypilot)
    for pair in sky_list:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise TypeError(f"skypilot entries must be (path, provider) pairs; found {pair!r}")
    base = _bundled_catalog()
    if not user_list and not sky_list:
        offers = base.offers.copy()
    else:
        frames = [_bundled_raw_cached()]
        frames += [read_skypilot_csv(path, provider) for path, provider in sky_list]
        frames += [read_user_csv(path) for path in user_list]
        offers = derive_offers(merge_raw(frames), base.accelerators, base.discounts)
    return Catalog(
        offers=offers,
        accelerators=base.accelerators.copy(),
        throughput=base.throughput.copy(),
        discounts=base.discounts.copy(),
    )
