"""Electrical power per instance (kW), for site and fleet power caps.

Rule (see ``docs/catalog.md``):

* accelerator instances: ``kW = n x TDP / 1000 + n x 0.575``, where ``n`` is accelerators per
  instance and 0.575 kW per accelerator is the host share (CPUs, memory, NICs, NVSwitch, fans)
  derived from the NVIDIA DGX H100: 10.2 kW maximum system power (DGX H100 user guide) minus
  8 x 0.7 kW GPUs = 4.6 kW, / 8 GPUs = 0.575 kW. Check: a GB200 NVL72 rack gives
  72 x 1.2 + 72 x 0.575 = 127.8 kW, inside the ~120-132 kW usually quoted for the rack.
* CPU-only instances: 5 W per vCPU (an assumption: ~1 kW for a 192-vCPU two-socket host).
* TDP unknown (TPUs, Trainium, and accelerators without a spec row such as B300, L40S, A10,
  GH200): NaN, never invented; ``kw_basis`` says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Host power per accelerator, kW: (10.2 kW DGX H100 max - 8 x 0.7 kW GPUs) / 8.
HOST_KW_PER_ACCELERATOR: float = 0.575
#: Assumed power of a CPU-only host per vCPU, kW (5 W).
CPU_KW_PER_VCPU: float = 0.005


def fmt_numbers(values: np.ndarray) -> np.ndarray:
    """Format numbers with ``:g`` once per distinct value (object array of str; NaN -> "nan").

    Args:
        values: numbers.

    Returns:
        Object array of the formatted numbers, same shape as ``values``.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=float))
    table = np.array([f"{u:g}" for u in uniques] + ["nan"], dtype=object)
    return table[codes]


def kw_per_instance(offers: pd.DataFrame, specs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Power per instance and its basis (vectorised).

    Args:
        offers: frame with ``accelerator`` (canonical, ``""`` for CPU-only), ``accelerators``
            (count) and ``vcpus``.
        specs: accelerator table of :func:`hyperplan.catalog.accelerators.load_accelerator_specs`
            (``tdp_w`` in W, ``source``).

    Returns:
        ``(kw, basis)``: kW per instance (NaN when unknown) and the basis text per row.
    """
    n = len(offers)
    acc_name = offers["accelerator"].astype(str).to_numpy(dtype=object)
    count = offers["accelerators"].to_numpy(dtype=float)
    vcpus = offers["vcpus"].to_numpy(dtype=float)
    tdp = offers["accelerator"].map(specs["tdp_w"]).to_numpy(dtype=float)

    is_acc = count > 0
    has_tdp = is_acc & ~np.isnan(tdp)
    kw = np.full(n, np.nan)
    kw[has_tdp] = count[has_tdp] * (tdp[has_tdp] / 1000.0 + HOST_KW_PER_ACCELERATOR)

    basis = np.full(n, "", dtype=object)
    count_txt = fmt_numbers(count)
    tdp_txt = fmt_numbers(tdp)
    fallback = offers["accelerator"].map(specs["source"]).astype(str).str.startswith("tdp_w only")
    tdp_src = np.where(fallback.to_numpy(), "NVIDIA datasheet", "accelerators.csv").astype(object)
    basis[has_tdp] = (
        count_txt[has_tdp]
        + " x "
        + tdp_txt[has_tdp]
        + " W TDP ("
        + tdp_src[has_tdp]
        + ") + "
        + count_txt[has_tdp]
        + f" x {HOST_KW_PER_ACCELERATOR:g} kW host (DGX H100 derived)"
    )

    no_tdp = is_acc & np.isnan(tdp)
    has_spec_row = offers["accelerator"].map(specs["bf16_tflops"]).notna().to_numpy()
    basis[no_tdp & has_spec_row] = (
        "unknown: vendor publishes no TDP for " + acc_name[no_tdp & has_spec_row]
    )
    basis[no_tdp & ~has_spec_row] = (
        "unknown: no spec row for " + acc_name[no_tdp & ~has_spec_row] + " in accelerators.csv"
    )

    cpu = ~is_acc & ~np.isnan(vcpus)
    kw[cpu] = vcpus[cpu] * CPU_KW_PER_VCPU
    vcpu_txt = fmt_numbers(vcpus)
    basis[cpu] = "CPU host: " + vcpu_txt[cpu] + f" vCPU x {CPU_KW_PER_VCPU * 1000:g} W (assumed)"
    basis[~is_acc & np.isnan(vcpus)] = "unknown: CPU-only instance with unknown vCPUs"
    return kw, basis
