"""Accelerator names and datasheet specs.

Every accelerator name that enters hyperplan (bundled CSVs, user CSVs, SkyPilot catalogs, scenario
files) goes through :func:`normalize_accelerator`, which maps it to one **canonical name**: the
spelling of ``gpu_offers.csv`` (``H100``, ``A100-80GB``, ``TPU-v6e``, ...). Matching is
case-insensitive and treats spaces and underscores like hyphens. Unknown names raise
:class:`UnknownAcceleratorError` (a :class:`KeyError`) with a did-you-mean suggestion.

:func:`load_accelerator_specs` returns the datasheet table (``accelerators.csv``) indexed by
canonical name, with one row for every canonical name: accelerators with no spec row have NaN
figures, never invented ones.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Canonical accelerator names (the spelling of ``gpu_offers.csv`` plus a few common extras).
CANONICAL: tuple[str, ...] = (
    "H100",
    "H100-NVL",
    "H100-PCIe",
    "H200",
    "B200",
    "B300",
    "GB200",
    "GB300",
    "GH200",
    "A100-80GB",
    "A100",
    "L4",
    "L40S",
    "A10",
    "A10G",
    "T4",
    "V100",
    "MI300X",
    "MI355X",
    "MI325X",
    "Trainium",
    "Trainium2",
    "TPU-v5p",
    "TPU-v6e",
    "TPU-v5e",
)

#: Extra spellings -> canonical name. Canonical names themselves always match.
ALIASES: dict[str, str] = {
    # accelerators.csv row names
    "H100-SXM": "H100",
    "H200-SXM": "H200",
    "B200 (HGX)": "B200",
    "GB200 (per GPU)": "GB200",
    "GB300 (per GPU)": "GB300",
    "A100-80GB-SXM": "A100-80GB",
    "TPU-v5p (per chip)": "TPU-v5p",
    "TPU-v6e Trillium (per chip)": "TPU-v6e",
    "TPU-v5e (per chip)": "TPU-v5e",
    "Trainium2 (per chip)": "Trainium2",
    "Trainium (per chip)": "Trainium",
    # SkyPilot and vendor spellings
    "H100-MEGA": "H100",
    "H100-SXM5": "H100",
    "H100-80GB": "H100",
    "H100-SXM-80GB": "H100",
    "H100-PCIE-80GB": "H100-PCIe",
    "H100-NVL-94GB": "H100-NVL",
    "H200-141GB": "H200",
    "H200-SXM-141GB": "H200",
    "B200-SXM": "B200",
    "B200-SXM-180GB": "B200",
    "B300-SXM": "B300",
    "A100-SXM4-80GB": "A100-80GB",
    "A100-80GB-SXM4": "A100-80GB",
    "A100-40GB": "A100",
    "A100-SXM4-40GB": "A100",
    "L40S-48GB": "L40S",
    "V100-16GB": "V100",
    "V100-32GB": "V100",
    "Trainium1": "Trainium",
    "trn1": "Trainium",
    "trn2": "Trainium2",
    "TPU-v5litepod": "TPU-v5e",
    "TPU-v5-lite": "TPU-v5e",
    "TPU-v6-lite": "TPU-v6e",
    "Trillium": "TPU-v6e",
}

#: Vendor of every canonical name (a fact about the product, not a datasheet figure).
VENDOR: dict[str, str] = {
    **{n: "NVIDIA" for n in CANONICAL if not n.startswith(("MI", "Trainium", "TPU"))},
    **{n: "AMD" for n in ("MI300X", "MI355X", "MI325X")},
    **{n: "AWS" for n in ("Trainium", "Trainium2")},
    **{n: "Google" for n in ("TPU-v5p", "TPU-v6e", "TPU-v5e")},
}

#: TDP for accelerators without an ``accelerators.csv`` row, where an NVIDIA document gives it.
#: Only the TDP is filled; memory and TFLOPS stay NaN.
TDP_FALLBACK_W: dict[str, tuple[float, str]] = {
    "H100-NVL": (
        400.0,
        "tdp_w only: NVIDIA H100 Tensor Core GPU datasheet, H100 NVL max TDP 350-400 W "
        "(configurable; upper end taken)",
    ),
    "H100-PCIe": (
        350.0,
        "tdp_w only: NVIDIA H100 PCIe product brief PB-11133-001_v02 (Nov 2022), maximum TDP 350 W",
    ),
}

#: Columns of :func:`load_accelerator_specs` (units in the names: GB, TFLOPS dense, W).
SPEC_COLUMNS: tuple[str, ...] = (
    "vendor",
    "memory_gb",
    "bf16_tflops",
    "fp8_tflops",
    "tdp_w",
    "source",
)

_TPU_SLICE = re.compile(r"^tpu-(v5p|v6e|v5litepod|v5e|v4|v3|v2)-(\d+)$")


class CatalogKeyError(KeyError):
    """A catalog lookup that failed; ``str()`` gives the plain message (not its repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownAcceleratorError(CatalogKeyError):
    """An accelerator name that is not canonical and not a known alias."""


class MissingSpecError(CatalogKeyError):
    """A known accelerator lacks the figure (MLPerf row, TFLOPS) a computation needs."""


def _key(name: str) -> str:
    """Comparison key: lower case, runs of spaces/underscores as one hyphen."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def _fold(key: str) -> str:
    return key.translate(_LOOKALIKE)


_LOOKALIKE = str.maketrans({"o": "0", "i": "1", "l": "1"})


@functools.cache
def _alias_map() -> dict[str, str]:
    table = {_key(n): n for n in CANONICAL}
    for alias, canonical in ALIASES.items():
        table[_key(alias)] = canonical
    return table


def known_accelerators() -> list[str]:
    """Canonical accelerator names, in catalog order.

    Returns:
        The canonical names (``H100``, ``H100-NVL``, ..., ``TPU-v5e``).
    """
    return list(CANONICAL)


def tpu_slice_chips(name: str) -> tuple[str, int] | None:
    """Parse a TPU slice name such as ``tpu-v5p-8`` into (canonical name, chips).

    The number in a slice name counts TensorCores for v5p (2 per chip: ``tpu-v5p-8`` has 4 chips,
    as in Google's docs and ``gpu_offers.csv``) and chips for v5e (``v5litepod``) and v6e.

    Args:
        name: a slice name, any case.

    Returns:
        ``(canonical, chips)``, or ``None`` when ``name`` is not a slice name of a known generation.
    """
    m = _TPU_SLICE.match(_key(name))
    if m is None:
        return None
    gen, n = m.group(1), int(m.group(2))
    if gen == "v5p":
        return "TPU-v5p", max(n // 2, 1)
    if gen == "v6e":
        return "TPU-v6e", n
    if gen in ("v5litepod", "v5e"):
        return "TPU-v5e", n
    return None  # v2/v3/v4: not in the catalog


def normalize_accelerator(name: str) -> str:
    """Map an accelerator name or alias to its canonical name.

    Args:
        name: any spelling: canonical (``H100``), an ``accelerators.csv`` row name
            (``H100-SXM``, ``TPU-v6e Trillium (per chip)``), a SkyPilot name (``H100-MEGA``,
            ``A100-80GB``, ``tpu-v5p-8``); case-insensitive. An empty string means CPU-only and
            is returned as ``""``.

    Returns:
        The canonical name.

    Raises:
        UnknownAcceleratorError: (a ``KeyError``) for an unknown name; the message suggests the
            closest known names.

    Examples:
        >>> normalize_accelerator("h100-mega")
        'H100'
        >>> normalize_accelerator("GB200 (per GPU)")
        'GB200'
    """
    if not isinstance(name, str):
        raise UnknownAcceleratorError(f"accelerator name must be a string, found {name!r}")
    if not name.strip():
        return ""
    table = _alias_map()
    key = _key(name)
    hit = table.get(key)
    if hit is not None:
        return hit
    tpu = tpu_slice_chips(name)
    if tpu is not None:
        return tpu[0]
    # Compare with look-alike characters folded (O/0, I/l/1) so "H1OO" suggests H100.
    folded: dict[str, str] = {}
    for k, canonical in table.items():
        folded.setdefault(_fold(k), canonical)
    close = difflib.get_close_matches(_fold(key), list(folded), n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(folded[c] for c in close))
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else "."
    raise UnknownAcceleratorError(
        f"unknown accelerator {name!r}{hint} Known: {', '.join(CANONICAL)}"
    )


@functools.cache
def _specs_cached() -> pd.DataFrame:
    raw = pd.read_csv(DATA_DIR / "accelerators.csv")
    raw["accelerator"] = [normalize_accelerator(n) for n in raw["accelerator"]]
    raw = raw.set_index("accelerator")
    out = pd.DataFrame(index=pd.Index(list(CANONICAL), name="accelerator"))
    out["vendor"] = [VENDOR[n] for n in CANONICAL]
    out["memory_gb"] = raw["memory_gb"].astype(float).reindex(out.index)
    out["bf16_tflops"] = raw["bf16_dense_tflops"].astype(float).reindex(out.index)
    out["fp8_tflops"] = raw["fp8_dense_tflops"].astype(float).reindex(out.index)
    out["tdp_w"] = raw["tdp_watts"].astype(float).reindex(out.index)
    source = raw["source"].astype(str).reindex(out.index)
    out["source"] = ("accelerators.csv: " + source).fillna("no row in accelerators.csv")
    for name, (watts, why) in TDP_FALLBACK_W.items():
        if np.isnan(out.at[name, "tdp_w"]):
            out.at[name, "tdp_w"] = watts
            out.at[name, "source"] = why
    return out


def load_accelerator_specs() -> pd.DataFrame:
    """Datasheet specs per canonical accelerator (a fresh copy of a cached table).

    Returns:
        DataFrame indexed by canonical name (all of :func:`known_accelerators`) with columns
        ``vendor``, ``memory_gb`` (GB), ``bf16_tflops`` and ``fp8_tflops`` (dense TFLOPS, no
        sparsity), ``tdp_w`` (W) and ``source``. NaN where no source gives the figure.
    """
    return _specs_cached().copy()
