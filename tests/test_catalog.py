"""Tests of hyperplan.catalog and the catalog table (hand-derived expected values in comments)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from hyperplan.catalog import (
    OFFER_COLUMNS,
    Catalog,
    estimate_inference_tokens_per_s,
    geo_of_region,
    known_accelerators,
    load_catalog,
    normalize_accelerator,
    training_equivalents,
)
from hyperplan.catalog.importers import read_skypilot_csv, read_user_csv
from hyperplan.catalog.power import CPU_KW_PER_VCPU, HOST_KW_PER_ACCELERATOR
from hyperplan.errors import InputError
from hyperplan.report.catalog_table import render_catalog

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = (
    "provider,region,instance_type,accelerator,accelerators_per_instance,vcpus,memory_gib,"
    "ondemand_usd_per_hour,spot_usd_per_hour,source\n"
)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def _write(tmp_path: Path, text: str, name: str = "offers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(exc: pytest.ExceptionInfo[InputError]) -> list[tuple[int | None, str]]:
    return [(p.line, p.path) for p in exc.value.problems]


# --- bundled offers ----------------------------------------------------------------------------


def test_bundled_row_counts_per_provider(cat: Catalog) -> None:
    # Counted in gpu_offers.csv (and in its README): 57 + 28 + 48 + 32 + 9 + 12 = 186 rows.
    counts = cat.offers["provider"].value_counts().to_dict()
    assert counts == {"aws": 57, "azure": 28, "gcp": 48, "oci": 32, "lambda": 9, "nebius": 12}
    assert len(cat.offers) == 186
    assert cat.offers.index.is_unique
    assert cat.offers.index.name == "offer_id"
    assert tuple(cat.offers.columns) == OFFER_COLUMNS
    assert set(cat.offers["origin"]) == {"bundled"}


def test_offer_dtypes(cat: Catalog) -> None:
    o = cat.offers
    assert o["accelerators"].dtype == np.int64
    assert o["priced"].dtype == bool
    for c in ("vcpus", "ondemand_usd_per_hour", "reserved_1y_usd_per_hour", "kw_per_instance"):
        assert o[c].dtype == np.float64
    assert (o.loc[o["accelerators"] == 0, "accelerator"] == "").all()


def test_p5_48xlarge_prices_power_and_reserved(cat: Catalog) -> None:
    row = cat.offers.loc["aws:us-east-1:p5.48xlarge"]
    assert row["accelerator"] == "H100"
    assert row["accelerators"] == 8
    assert row["ondemand_usd_per_hour"] == pytest.approx(55.04)
    assert row["usd_per_gpu_hour"] == pytest.approx(6.88)  # 55.04 / 8
    assert row["spot_usd_per_gpu_hour"] == pytest.approx(17.6289 / 8)
    # 8 x 0.7 kW + 8 x 0.575 kW = 5.6 + 4.6 = 10.2 kW (the DGX H100 maximum it was derived from)
    assert row["kw_per_instance"] == pytest.approx(10.2)
    assert row["kw_basis"].startswith("8 x 700 W TDP")
    # 55.04 x (1 - 0.306) = 38.19776 ; 55.04 x (1 - 0.561) = 24.16256
    assert row["reserved_1y_usd_per_hour"] == pytest.approx(38.19776)
    assert row["reserved_3y_usd_per_hour"] == pytest.approx(24.16256)
    assert row["reserved_basis"].startswith("borrowed: gcp A3 High CUD 1y 0.306 / 3y 0.561")
    assert "aws" in row["reserved_basis"]
    assert row["geo"] == "us"
    assert bool(row["priced"]) is True
    assert row["source"].startswith("skypilot-catalog catalogs/v8/aws/vms.csv@00148f2a")


def test_host_overhead_derivation() -> None:
    # (10.2 kW DGX H100 max - 8 x 0.7 kW) / 8 = 0.575 kW per GPU
    assert pytest.approx((10.2 - 8 * 0.7) / 8) == HOST_KW_PER_ACCELERATOR
    # GB200 NVL72 cross-check: 72 x 1.2 + 72 x 0.575 = 127.8 kW (rack quoted ~120-132 kW)
    rack_kw = 72 * 1.2 + 72 * HOST_KW_PER_ACCELERATOR
    assert rack_kw == pytest.approx(127.8)


def test_gcp_a3_high_uses_its_own_cud(cat: Catalog) -> None:
    row = cat.offers.loc["gcp:us-central1:a3-highgpu-8g"]
    # 88.49 x 0.694 = 61.41206 ; 88.49 x 0.439 = 38.84711
    assert row["reserved_1y_usd_per_hour"] == pytest.approx(61.41206)
    assert row["reserved_3y_usd_per_hour"] == pytest.approx(38.84711)
    assert row["reserved_basis"].startswith("gcp A3 High CUD 1y 0.306 / 3y 0.561")
    assert "borrowed" not in row["reserved_basis"]


def test_gcp_specific_families(cat: Catalog) -> None:
    mega = cat.offers.loc["gcp:us-east4:a3-megagpu-8g"]
    # 92.93759 x (1 - 0.312) = 63.94106 ; x (1 - 0.564) = 40.52079
    assert mega["reserved_1y_usd_per_hour"] == pytest.approx(92.93759 * 0.688)
    assert mega["reserved_3y_usd_per_hour"] == pytest.approx(92.93759 * 0.436)
    g2 = cat.offers.loc["gcp:us-central1:g2-standard-4"]
    assert g2["reserved_1y_usd_per_hour"] == pytest.approx(0.70683 * 0.63)
    n2 = cat.offers.loc["gcp:us-central1:n2-standard-64"]
    assert n2["reserved_basis"].startswith("gcp N2 CUD")
    # a2-ultragpu has no CUD row: borrowed A3 High rate, said so
    a2 = cat.offers.loc["gcp:us-central1:a2-ultragpu-8g"]
    assert a2["reserved_basis"].startswith("borrowed: gcp A3 High CUD")
    assert a2["reserved_1y_usd_per_hour"] == pytest.approx(40.55038 * 0.694)


def test_cpu_instances_borrow_gcp_cpu_cud_and_5w_per_vcpu(cat: Catalog) -> None:
    row = cat.offers.loc["aws:us-east-1:c7i.16xlarge"]
    # 2.856 x 0.63 = 1.79928 ; 2.856 x 0.45 = 1.2852
    assert row["reserved_1y_usd_per_hour"] == pytest.approx(1.79928)
    assert row["reserved_3y_usd_per_hour"] == pytest.approx(1.2852)
    assert "CPU" in row["reserved_basis"] and row["reserved_basis"].startswith("borrowed")
    assert math.isnan(row["usd_per_gpu_hour"])
    # 64 vCPU x 5 W = 0.32 kW
    assert row["kw_per_instance"] == pytest.approx(64 * CPU_KW_PER_VCPU) == pytest.approx(0.32)
    assert row["geo"] == "us"


def test_unpriced_offer_stays_with_nan_reserved(cat: Catalog) -> None:
    row = cat.offers.loc["aws:us-east-2:p5e.48xlarge"]
    assert bool(row["priced"]) is False
    assert math.isnan(row["ondemand_usd_per_hour"])
    assert math.isnan(row["reserved_1y_usd_per_hour"])
    assert math.isnan(row["reserved_3y_usd_per_hour"])
    assert math.isnan(row["usd_per_gpu_hour"])
    assert row["reserved_basis"].startswith("none")
    # H200: 8 x 0.7 + 8 x 0.575 = 10.2 kW
    assert row["kw_per_instance"] == pytest.approx(10.2)
    # 5 bundled offers have no on-demand price (p5e, trn2, a3-ultragpu eu, 2x a4-highgpu)
    assert int((~cat.offers["priced"]).sum()) == 5


def test_reserved_basis_counts_match_docs(cat: Catalog) -> None:
    # docs/catalog.md, rule 3: 5 A3 High, 3 A3 Mega, 11 G2, 11 C3/C3D/C4/N4, 2 N2, 94 borrowed GPU,
    # 35 borrowed CPU, 20 OCI bare metal, 5 without on-demand price: 186 in all.
    basis = cat.offers["reserved_basis"]
    counts = {
        "gcp A3 High CUD": 5,
        "gcp A3 Mega CUD": 3,
        "gcp G2 CUD": 11,
        "gcp C3/C3D/C4/N4 CPU CUD": 11,
        "gcp N2 CUD": 2,
        "borrowed: gcp A3 High CUD": 94,
        "borrowed: gcp C3/C3D/C4/N4 CPU CUD": 35,
        "none: OCI": 20,
        "none: no on-demand": 5,
    }
    for prefix, n in counts.items():
        assert int(basis.str.startswith(prefix).sum()) == n, prefix
    assert sum(counts.values()) == 186
    # and rule 2: 23 offers without a known TDP
    assert int(cat.offers["kw_per_instance"].isna().sum()) == 23


def test_oci_bare_metal_has_no_reserved_but_vm_borrows(cat: Catalog) -> None:
    bm = cat.offers.loc["oci:us-ashburn-1:BM.GPU.H100.8"]
    assert math.isnan(bm["reserved_1y_usd_per_hour"])
    assert bm["reserved_basis"].startswith("none: OCI")
    assert bool(bm["priced"]) is True  # on-demand 80 USD/h
    assert bm["usd_per_gpu_hour"] == pytest.approx(10.0)  # 80 / 8
    vm = cat.offers.loc["oci:us-ashburn-1:VM.GPU.A10.1"]
    assert vm["reserved_1y_usd_per_hour"] == pytest.approx(2.0 * 0.694)


def test_power_unknown_tdp_is_nan_not_invented(cat: Catalog) -> None:
    tpu = cat.offers.loc["gcp:us-central1:tpu-v6e-8"]
    assert math.isnan(tpu["kw_per_instance"])
    assert "no TDP" in tpu["kw_basis"]
    b300 = cat.offers.loc["aws:us-west-2:p6-b300.48xlarge"]
    assert math.isnan(b300["kw_per_instance"])
    assert "no spec row for B300" in b300["kw_basis"]
    # H100 NVL: NVIDIA datasheet 400 W: 1 x 0.4 + 1 x 0.575 = 0.975 kW
    nvl = cat.offers.loc["azure:eastus:Standard_NC40ads_H100_v5"]
    assert nvl["kw_per_instance"] == pytest.approx(0.975)
    assert "NVIDIA datasheet" in nvl["kw_basis"]
    # H100 PCIe: 350 W: 0.35 + 0.575 = 0.925 kW
    pcie = cat.offers.loc["lambda:us-east-1:gpu_1x_h100_pcie"]
    assert pcie["kw_per_instance"] == pytest.approx(0.925)
    # GB200 on OCI: 4 x 1.2 + 4 x 0.575 = 7.1 kW
    gb200 = cat.offers.loc["oci:us-ashburn-1:BM.GPU.GB200.4"]
    assert gb200["kw_per_instance"] == pytest.approx(7.1)


def test_accelerator_table(cat: Catalog) -> None:
    acc = cat.accelerators
    assert list(acc.index) == known_accelerators()
    assert list(acc.columns) == [
        "vendor",
        "memory_gb",
        "bf16_tflops",
        "fp8_tflops",
        "tdp_w",
        "source",
    ]
    assert acc.at["H100", "tdp_w"] == 700
    assert acc.at["GB200", "bf16_tflops"] == 2500
    assert acc.at["TPU-v6e", "vendor"] == "Google"
    assert math.isnan(acc.at["B300", "bf16_tflops"])
    assert set(cat.throughput["accelerator"]) <= set(known_accelerators())
    assert len(cat.throughput) == 40
    assert len(cat.discounts) == 19


def test_catalog_frames_are_copies() -> None:
    a = load_catalog()
    a.offers.loc["aws:us-east-1:p5.48xlarge", "ondemand_usd_per_hour"] = 1.0
    b = load_catalog()
    assert b.offers.loc["aws:us-east-1:p5.48xlarge", "ondemand_usd_per_hour"] == 55.04


def test_bundled_load_is_fast() -> None:
    load_catalog()
    start = time.perf_counter()
    for _ in range(10):
        load_catalog()
    assert (time.perf_counter() - start) / 10 < 0.05


# --- names, geo --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("H100-SXM", "H100"),
        ("h100-mega", "H100"),
        ("H200-SXM", "H200"),
        ("B200 (HGX)", "B200"),
        ("GB200 (per GPU)", "GB200"),
        ("GB300 (per GPU)", "GB300"),
        ("A100-80GB-SXM", "A100-80GB"),
        ("a100-80gb", "A100-80GB"),
        ("TPU-v6e Trillium (per chip)", "TPU-v6e"),
        ("TPU-v5p (per chip)", "TPU-v5p"),
        ("Trainium2 (per chip)", "Trainium2"),
        ("tpu-v5p-8", "TPU-v5p"),
        ("tpu-v5litepod-8", "TPU-v5e"),
        ("h100_pcie", "H100-PCIe"),
        ("mi300x", "MI300X"),
        ("", ""),
    ],
)
def test_normalize_aliases(alias: str, canonical: str) -> None:
    assert normalize_accelerator(alias) == canonical


def test_every_offer_accelerator_is_canonical(cat: Catalog) -> None:
    names = set(cat.offers["accelerator"]) - {""}
    assert names <= set(known_accelerators())
    assert len(known_accelerators()) == 25


def test_unknown_accelerator_did_you_mean() -> None:
    with pytest.raises(KeyError) as exc:
        normalize_accelerator("H10O")
    assert "did you mean 'H100'" in str(exc.value)
    with pytest.raises(KeyError, match="did you mean 'L40S'"):
        normalize_accelerator("L40")
    with pytest.raises(KeyError, match="unknown accelerator 'Gaudi3'"):
        normalize_accelerator("Gaudi3")


@pytest.mark.parametrize(
    ("provider", "region", "geo"),
    [
        ("aws", "us-east-1", "us"),
        ("aws", "eu-west-2", "eu"),
        ("aws", "ap-northeast-1", "ap"),
        ("aws", "ca-central-1", "ca"),
        ("aws", "sa-east-1", "sa"),
        ("aws", "me-central-1", "me"),
        ("aws", "af-south-1", "af"),
        ("gcp", "europe-west4", "eu"),
        ("gcp", "asia-southeast1", "ap"),
        ("gcp", "northamerica-northeast1", "ca"),
        ("gcp", "southamerica-east1", "sa"),
        ("azure", "eastus", "us"),
        ("azure", "southcentralus", "us"),
        ("azure", "westus3", "us"),
        ("azure", "westeurope", "eu"),
        ("azure", "swedencentral", "eu"),
        ("azure", "uksouth", "eu"),
        ("azure", "germanywestcentral", "eu"),
        ("azure", "japaneast", "ap"),
        ("azure", "australiaeast", "ap"),
        ("azure", "brazilsouth", "sa"),
        ("azure", "canadacentral", "ca"),
        ("azure", "uaenorth", "me"),
        ("azure", "southafricanorth", "af"),
        ("oci", "us-ashburn-1", "us"),
        ("oci", "eu-frankfurt-1", "eu"),
        ("oci", "uk-london-1", "eu"),
        ("oci", "il-jerusalem-1", "me"),
        ("lambda", "europe-central-1", "eu"),
        ("lambda", "asia-northeast-1", "ap"),
        ("nebius", "eu-north1", "eu"),
        ("nebius", "us-central1", "us"),
        ("aws", "mx-central-1", "other"),
        ("azure", "mars-north", "other"),
    ],
)
def test_geo_of_region(provider: str, region: str, geo: str) -> None:
    assert geo_of_region(provider, region) == geo


def test_bundled_geo(cat: Catalog) -> None:
    # Every bundled region is in the US or Europe (see the data README): no "other".
    assert set(cat.offers["geo"]) == {"us", "eu"}
    assert cat.offers.loc["lambda:europe-central-1:gpu_1x_h100_sxm5", "geo"] == "eu"


# --- performance -------------------------------------------------------------------------------


def test_inference_estimate_h100() -> None:
    value, basis = estimate_inference_tokens_per_s("H100")
    # MLPerf v5.0 Server, DGX H100: 31106.3 / 8 = 3888.3 tok/s per GPU (newest round with H100)
    assert value == pytest.approx(3888.3)
    assert "v5.0" in basis and "estimate" in basis and "Server" in basis
    # at 405B: 3888.3 x 70 / 405 = 672.05
    value405, _ = estimate_inference_tokens_per_s("h100-sxm", 405)
    assert value405 == pytest.approx(3888.3 * 70 / 405)
    assert round(value405, 1) == 672.1
    offline, basis_off = estimate_inference_tokens_per_s("H100", scenario="offline")
    assert offline == pytest.approx(3913.3)  # v5.0 Offline 31306.8 / 8
    assert "Offline" in basis_off


def test_inference_estimate_newest_round_wins() -> None:
    # B200: v4.1 (10755.6, single-GPU preview), v5.0 (12305.4), v5.1 (12390.4) -> v5.1
    value, basis = estimate_inference_tokens_per_s("B200")
    assert value == pytest.approx(12390.4)
    assert "v5.1" in basis
    # MI300X: v4.1 2628.5, v5.1 3074.2 -> v5.1
    assert estimate_inference_tokens_per_s("MI300X")[0] == pytest.approx(3074.2)


def test_inference_estimate_without_mlperf_row() -> None:
    # Trainium2 has no MLPerf row: H100 3888.3 x fp8 ratio 1299 / 1978.9 (0.65643) = 2552.38 tok/s
    value, basis = estimate_inference_tokens_per_s("Trainium2")
    assert value == pytest.approx(3888.3 * 1299 / 1978.9)
    assert value == pytest.approx(2552.38, abs=0.01)
    assert "fp8" in basis and "estimate" in basis and "1299/1978.9" in basis
    # TPU-v6e has no FP8 figure: bf16 ratio 918 / 989.4 = 0.92784 -> 3607.70 at 70B, /2 at 140B
    tpu, tpu_basis = estimate_inference_tokens_per_s("TPU-v6e", 140)
    assert tpu == pytest.approx(3888.3 * 918 / 989.4 * 70 / 140)
    assert "bf16" in tpu_basis


def test_inference_estimate_errors() -> None:
    with pytest.raises(KeyError, match="B300"):
        estimate_inference_tokens_per_s("B300")  # no MLPerf row, no spec row
    with pytest.raises(KeyError, match="did you mean"):
        estimate_inference_tokens_per_s("H1OO")
    with pytest.raises(ValueError):
        estimate_inference_tokens_per_s("H100", 0)
    with pytest.raises(ValueError):
        estimate_inference_tokens_per_s("H100", scenario="SingleStream")


def test_training_equivalents() -> None:
    assert training_equivalents("H100") == pytest.approx(1.0)
    assert training_equivalents("B200") == pytest.approx(2250 / 989.4)  # 2.2741
    assert training_equivalents("GB200 (per GPU)") == pytest.approx(2500 / 989.4)
    assert training_equivalents("H100", reference="A100-80GB") == pytest.approx(989.4 / 312)
    with pytest.raises(KeyError):
        training_equivalents("L40S")  # no spec row
    with pytest.raises(KeyError):
        training_equivalents("nope")


# --- filter ------------------------------------------------------------------------------------


def test_filter(cat: Catalog) -> None:
    aws = cat.filter(provider="AWS")
    assert len(aws) == 57
    both = cat.filter(provider=["aws", "lambda"])
    assert len(both) == 57 + 9
    h100 = cat.filter(accelerator="h100-sxm")
    assert set(h100["accelerator"]) == {"H100"}
    priced = h100[h100["priced"]]
    assert priced["provider"].nunique() >= 4
    assert set(priced["provider"]) == {"aws", "azure", "gcp", "oci", "lambda", "nebius"}
    eu_h100 = cat.filter(accelerator="H100", geo="EU")
    assert set(eu_h100["geo"]) == {"eu"}
    # aws eu-west-2 p5.48xlarge + p5.4xlarge, eu-north-1 p5.48xlarge, gcp europe-west4 a3-highgpu
    # 8g/1g + a3-megagpu-8g, lambda europe-central-1, nebius eu-north1 8gpu/1gpu: 3 + 3 + 1 + 2 = 9
    assert len(eu_h100) == 9
    cpu = cat.filter(accelerator="", provider="gcp")
    # c3 x3, c4 x2, c3d x2, n4-standard-80 x2, n4-standard-8 x2, n2 x2 = 13
    assert (cpu["accelerators"] == 0).all() and len(cpu) == 13
    region = cat.filter(region=["us-east-1"], accelerator=["H100", "H200"])
    assert set(region["provider"]) == {"aws", "lambda"}
    with pytest.raises(KeyError, match="did you mean"):
        cat.filter(accelerator="H10")


# --- user CSV ----------------------------------------------------------------------------------


def test_user_csv_overrides_and_adds() -> None:
    path = FIXTURES / "catalog_user_override.csv"
    cat = load_catalog(user_csvs=[path])
    assert len(cat.offers) == 187  # 186 bundled + 1 new (coreweave); p5.48xlarge replaced
    p5 = cat.offers.loc["aws:us-east-1:p5.48xlarge"]
    assert p5["ondemand_usd_per_hour"] == 50.0
    assert p5["usd_per_gpu_hour"] == pytest.approx(6.25)  # 50 / 8
    assert math.isnan(p5["spot_usd_per_hour"])
    assert p5["reserved_1y_usd_per_hour"] == 35.0  # given
    # a blank reserved price in a user CSV means "not offered", never a borrowed rate (issue 12)
    assert math.isnan(p5["reserved_3y_usd_per_hour"])
    assert p5["reserved_basis"] == "user (1y); 3y: none: blank in the user CSV (not offered)"
    assert p5["source"] == "negotiated quote (test fixture)"
    assert p5["origin"] == f"user:{path}"
    assert p5["kw_per_instance"] == pytest.approx(10.2)
    cw = cat.offers.loc["coreweave:us-east-04:gd-8xh100ib-i128"]
    assert cw["accelerator"] == "H100"
    assert cw["kw_per_instance"] == 11.5 and cw["kw_basis"] == "user"
    assert cw["source"] == f"user:{path}"
    assert cw["geo"] == "us"
    assert math.isnan(cw["reserved_1y_usd_per_hour"])  # blank: not offered (no borrowed rate)
    assert math.isnan(cw["reserved_3y_usd_per_hour"])
    assert cw["reserved_basis"] == "none: blank in the user CSV (not offered)"
    # The bundled cache is untouched.
    assert load_catalog().offers.loc["aws:us-east-1:p5.48xlarge", "ondemand_usd_per_hour"] == 55.04


def test_user_csv_reserved_without_ondemand_is_priced(tmp_path: Path) -> None:
    text = (
        "provider,region,instance_type,accelerator,accelerators_per_instance,"
        "ondemand_usd_per_hour,reserved_1y_usd_per_hour,reserved_3y_usd_per_hour\n"
        "aws,us-east-2,p5e.48xlarge,H200,8,,40.0,30.0\n"
    )
    cat = load_catalog(user_csvs=[_write(tmp_path, text)])
    row = cat.offers.loc["aws:us-east-2:p5e.48xlarge"]
    assert bool(row["priced"]) is True
    assert row["reserved_basis"] == "user"
    assert (row["reserved_1y_usd_per_hour"], row["reserved_3y_usd_per_hour"]) == (40.0, 30.0)
    assert len(cat.offers) == 186


def test_bad_user_csv_rows_are_located() -> None:
    path = FIXTURES / "catalog_user_bad.csv"
    with pytest.raises(InputError) as exc:
        load_catalog(user_csvs=[path])
    assert _problems(exc) == [
        (3, "accelerator"),  # H10O
        (4, "ondemand_usd_per_hour"),  # "fifty"
        (5, "ondemand_usd_per_hour"),  # -0.80
        (6, "accelerators_per_instance"),  # 1.5
        (7, "provider"),  # empty
        (8, "instance_type"),  # duplicate of line 2
        (9, "accelerator"),  # CPU row with 4 accelerators
    ]
    probs = exc.value.problems
    assert all(p.file == str(path) for p in probs)
    assert "did you mean 'H100'" in probs[0].message
    assert probs[0].column == 4
    # the cells' text is not echoed (a scenario may name a file it should not show)
    assert "found text that is not a finite number" in probs[1].message
    assert "number from 0 to 100000" in probs[1].message and "fifty" not in probs[1].message
    assert probs[1].column == 8
    assert "found a negative number" in probs[2].message and "0.80" not in probs[2].message
    assert "H10O" not in probs[0].message and "unknown accelerator name" in probs[0].message
    assert "whole number" in probs[3].message
    assert "first at line 2" in probs[5].message


def test_user_csv_missing_and_unknown_columns(tmp_path: Path) -> None:
    text = "provider,region,instance_type,accelerator,accelerators_per_instance,ondemand_usd_per_hr"
    text += "\n"
    with pytest.raises(InputError) as exc:
        read_user_csv(_write(tmp_path, text + "aws,us-east-1,x,H100,8,1\n"))
    # the unknown column is named by its number, not its text (never echoed)
    assert _problems(exc) == [(1, "ondemand_usd_per_hour"), (1, "")]
    assert exc.value.problems[1].column == 6 and "column 6" in exc.value.problems[1].message
    assert "missing required column" in exc.value.problems[0].message
    assert "did you mean 'ondemand_usd_per_hour'" in exc.value.problems[1].message


def test_user_csv_other_faults(tmp_path: Path) -> None:
    text = HEADER + (
        "aws,us-east-1,a,H100,0,8,32,1.0,,zero GPUs for H100\n"  # line 2
        "aws,us-east-1,b,H100,8,8,32,1.0,-3,negative spot\n"  # line 3
        "aws,us-east-1,c,H100,8,8,32\n"  # line 4: too few fields
    )
    with pytest.raises(InputError) as exc:
        read_user_csv(_write(tmp_path, text))
    assert _problems(exc) == [(4, "")]  # ragged rows are reported first, alone
    assert "expected 10 fields" in exc.value.problems[0].message
    with pytest.raises(InputError) as exc:
        read_user_csv(_write(tmp_path, text.rsplit("aws,us-east-1,c", 1)[0]))
    assert _problems(exc) == [(2, "accelerators_per_instance"), (3, "spot_usd_per_hour")]
    with pytest.raises(InputError) as exc:
        read_user_csv(tmp_path / "missing.csv")
    assert "file not found" in str(exc.value)
    with pytest.raises(InputError) as exc:
        read_user_csv(_write(tmp_path, ""))
    assert _problems(exc) == [(1, "")]


def test_user_csv_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    text = HEADER + "\naws,us-east-1,x,H100,8,8,32,abc,,s\n"  # the bad row is on line 3
    with pytest.raises(InputError) as exc:
        read_user_csv(_write(tmp_path, text))
    assert _problems(exc) == [(3, "ondemand_usd_per_hour")]


# --- SkyPilot ----------------------------------------------------------------------------------


def test_skypilot_import() -> None:
    path = FIXTURES / "skypilot_small.csv"
    raw = read_skypilot_csv(path, "GCP")
    assert len(raw) == 4  # 3 AZ rows of a3-megagpu-8g collapse into one offer
    cat = load_catalog(skypilot=[(path, "gcp")])
    assert len(cat.offers) == 186 + 3  # a3-megagpu-8g us-east4 replaces the bundled row
    mega = cat.offers.loc["gcp:us-east4:a3-megagpu-8g"]
    assert mega["accelerator"] == "H100"  # H100-MEGA alias
    assert mega["accelerators"] == 8
    assert mega["ondemand_usd_per_hour"] == 90.0  # first non-empty Price (AZ a is empty)
    assert mega["spot_usd_per_hour"] == 23.5  # min(25.1, 23.5, 24.0)
    assert mega["origin"] == f"skypilot:{path}"
    # A3 Mega CUD: 90 x (1 - 0.312) = 61.92 ; 90 x (1 - 0.564) = 39.24
    assert mega["reserved_1y_usd_per_hour"] == pytest.approx(61.92)
    assert mega["reserved_3y_usd_per_hour"] == pytest.approx(39.24)
    l4 = cat.offers.loc["gcp:us-west1:g2-standard-4"]
    assert math.isnan(l4["spot_usd_per_hour"])
    assert l4["kw_per_instance"] == pytest.approx(0.072 + 0.575)  # 0.647
    cpu = cat.offers.loc["gcp:us-west1:n2-standard-64"]
    assert cpu["accelerator"] == "" and cpu["accelerators"] == 0
    assert cpu["kw_per_instance"] == pytest.approx(0.32)
    tpu = cat.offers.loc["gcp:us-east5:tpu-v5p-8"]
    assert tpu["accelerator"] == "TPU-v5p"
    assert tpu["accelerators"] == 4  # tpu-v5p-8 = 8 TensorCores = 4 chips
    assert tpu["usd_per_gpu_hour"] == pytest.approx(4.2)  # 16.8 / 4


def test_skypilot_errors(tmp_path: Path) -> None:
    text = (
        "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region\n"
        "p5.48xlarge,H100,8,192,2048,55.04,-1,us-east-1\n"  # line 2: negative spot
        "x1.big,Gaudi2,8,96,1024,30,,us-east-1\n"  # line 3: unknown accelerator
        "g6.xlarge,L4,0.25,4,16,0.8,,us-east-1\n"  # line 4: fractional count
        ",,,4,16,0.2,,us-east-1\n"  # line 5: no instance type
    )
    with pytest.raises(InputError) as exc:
        read_skypilot_csv(_write(tmp_path, text, "vms.csv"), "aws")
    assert _problems(exc) == [
        (2, "SpotPrice"),
        (3, "AcceleratorName"),
        (4, "AcceleratorCount"),
        (5, "InstanceType"),
    ]
    assert exc.value.problems[0].column == 7
    with pytest.raises(InputError) as exc:
        read_skypilot_csv(_write(tmp_path, "InstanceType,Price\nx,1\n", "vms2.csv"), "aws")
    assert {p.path for p in exc.value.problems} >= {"AcceleratorName", "Region", "SpotPrice"}
    assert all(p.line == 1 for p in exc.value.problems)


# --- table -------------------------------------------------------------------------------------


def test_render_catalog_never_cuts_an_id(cat: Catalog) -> None:
    """At 100 columns the longest instance ids do not fit a one-line table: each offer prints as
    one wrapped line with every id whole (issue 13: never cut ids); no ellipsis anywhere."""
    console = Console(width=100, record=True, color_system=None)
    render_catalog(cat.offers, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100 and "…" not in text
    for instance in set(cat.offers["instance_type"]):
        assert f"Instance {instance};" in " ".join(text.split()), instance


def test_render_catalog_is_one_line_per_offer_when_it_fits(cat: Catalog) -> None:
    console = Console(width=200, record=True, color_system=None)
    render_catalog(cat.offers, console)
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 200
    providers = ("aws", "azure", "gcp", "oci", "lambda", "nebius")
    body = [line for line in lines if line.startswith(providers)]
    assert len(body) == 186  # one line per offer: no wrapping
    # Cheapest per GPU-hour first: gcp us-east4 g2-standard-4 at 0.70452 USD/GPU-h.
    assert body[0].split()[:3] == ["gcp", "us-east4", "g2-standard-4"]
    # The 5 unpriced offers come last, marked.
    assert all("no price" in line for line in body[-5:])
    assert not any("no price" in line for line in body[:-5])
    # CPU rows come after every priced accelerator row and before the unpriced ones.
    kinds = ["CPU" if " CPU " in line else "GPU" for line in body[:-5]]
    assert kinds == sorted(kinds, key=lambda k: k == "CPU")


def test_render_catalog_limit_and_sort(cat: Catalog) -> None:
    console = Console(width=200, record=True, color_system=None)
    render_catalog(cat.filter(accelerator="H100"), console, limit=3)
    text = console.export_text()
    assert "3 of 25 offers" in text
    # Nebius 1x/8x H100 at 2.95 USD/GPU-h are the cheapest H100 offers.
    assert sum(line.startswith("nebius") for line in text.splitlines()) == 2
    console = Console(width=100, record=True, color_system=None)
    render_catalog(cat.offers, console, sort="kw_per_instance", limit=1)
    assert "0.02" in console.export_text()  # lambda cpu_4x_general: 4 x 5 W = 0.02 kW
    with pytest.raises(ValueError):
        render_catalog(cat.offers, console, sort="nope")


def test_offers_frame_has_no_missing_required_text(cat: Catalog) -> None:
    o = cat.offers
    for c in ("provider", "region", "instance_type", "source", "origin", "geo", "reserved_basis"):
        assert not o[c].isna().any()
        assert isinstance(o[c].iloc[0], str)
    assert (o["reserved_basis"] != "").all() and (o["kw_basis"] != "").all()
    assert isinstance(o, pd.DataFrame)
    assert repr(cat) == "Catalog(186 offers, 25 accelerators, 40 MLPerf rows, 19 discount rows)"
