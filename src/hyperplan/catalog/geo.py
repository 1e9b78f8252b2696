"""Geography tags of cloud regions.

:func:`geo_of_region` maps a provider's region code to a coarse tag used for data residency and
placement policies: ``us``, ``ca``, ``sa`` (South and Latin America), ``eu`` (Europe, including the
UK, Norway and Switzerland), ``me`` (Middle East, including Israel), ``af``, ``ap`` (Asia-Pacific,
including India and Oceania), or ``other`` when no rule matches (e.g. Mexico, which has no tag of
its own). The rules are prefix rules, listed in ``docs/catalog.md``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Tags that :func:`geo_of_region` can return.
GEOS: tuple[str, ...] = ("us", "ca", "sa", "eu", "me", "af", "ap", "other")

# First hyphen-separated token of a region code -> geo. Used for AWS (us-east-1), GCP
# (europe-west4), OCI (eu-frankfurt-1, uk-london-1), Lambda (europe-central-1), Nebius (eu-north1)
# and any provider that names regions the same way.
_PREFIX: dict[str, str] = {
    "us": "us",
    "usgov": "us",
    "ca": "ca",
    "canada": "ca",
    "sa": "sa",
    "southamerica": "sa",
    "brazil": "sa",
    "eu": "eu",
    "europe": "eu",
    "uk": "eu",
    "me": "me",
    "il": "me",
    "af": "af",
    "africa": "af",
    "ap": "ap",
    "asia": "ap",
    "australia": "ap",
}

# GCP spells some regions differently.
_GCP_SPECIAL: dict[str, str] = {"northamerica-northeast": "ca"}

# Azure region names are run-together words (eastus2, westeurope, japaneast).
_AZURE_RULES: tuple[tuple[str, str], ...] = (
    (r"^(usgov|usdod)|us\d?$|^centraluseuap$|^eastus2euap$", "us"),
    (r"^canada", "ca"),
    (r"^brazil", "sa"),
    (
        r"europe$|^(sweden|uk|france|germany|norway|switzerland|italy|poland|spain|austria|"
        r"belgium|denmark|finland|greece|ireland)",
        "eu",
    ),
    (r"^(uae|qatar|israel|saudi|kuwait|bahrain)", "me"),
    (r"^southafrica", "af"),
    (
        r"^(japan|korea|southeastasia|eastasia|australia|centralindia|southindia|westindia|"
        r"jioindia|newzealand|indonesia|malaysia|taiwan|india)",
        "ap",
    ),
)


def geo_of_region(provider: str, region: str) -> str:
    """Geography tag of a region.

    Args:
        provider: provider name (``aws``, ``azure``, ``gcp``, ``oci``, ``lambda``, ``nebius``, or
            any other; case-insensitive).
        region: the provider's own region code (``us-east-1``, ``westeurope``, ``europe-west4``,
            ``uk-london-1``, ...).

    Returns:
        One of :data:`GEOS`; ``"other"`` when no rule matches.

    Examples:
        >>> geo_of_region("azure", "swedencentral")
        'eu'
        >>> geo_of_region("oci", "uk-london-1")
        'eu'
    """
    prov = str(provider).strip().lower()
    reg = str(region).strip().lower()
    if not reg:
        return "other"
    if prov == "azure" or "-" not in reg:
        for pattern, geo in _AZURE_RULES:
            if re.search(pattern, reg):
                return geo
        if prov == "azure":
            return "other"
    if prov == "gcp":
        for prefix, geo in _GCP_SPECIAL.items():
            if reg.startswith(prefix):
                return geo
    token = reg.split("-", 1)[0]
    return _PREFIX.get(token, "other")


def geo_series(provider: pd.Series, region: pd.Series) -> pd.Series:
    """Vectorised :func:`geo_of_region` (one call per distinct provider/region pair).

    Args:
        provider: provider per row.
        region: region per row, aligned with ``provider``.

    Returns:
        Geo tag per row, same index as ``provider``.
    """
    key = (
        provider.astype(str).to_numpy(dtype=object)
        + "\x1f"
        + region.astype(str).to_numpy(dtype=object)
    )
    codes, uniques = pd.factorize(key)
    tags = np.array([geo_of_region(*u.split("\x1f", 1)) for u in uniques], dtype=object)
    return pd.Series(tags[codes] if len(codes) else [], index=provider.index, dtype=str)
