"""Bad scenario files: each problem is reported with its line, column, field path and a message
that says what was expected and what was found (or what was probably meant)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hyperplan.errors import InputError, Problem
from hyperplan.scenario.load import format_problems, load_scenario, load_scenario_text
from hyperplan.scenario.yamlpos import MAX_BYTES

# Lines 1-7 of most cases. Line 8 is the first line after it.
HEAD = """\
horizon:
  start: 2026-01
  period: quarter
  periods: 4
providers:
  aws: {}
  oci: {}
"""

# One good workload, for cases whose fault is elsewhere (it takes 4 lines).
CHAT = """\
workloads:
  - name: chat
    kind: inference
    demand_tokens_per_s: 1000
"""


def wl(*lines: str) -> str:
    """HEAD, then one workload (line 9: ``- name: chat``) with extra lines from line 11 on."""
    body = "".join(f"    {line}\n" for line in lines)
    return HEAD + "workloads:\n  - name: chat\n    kind: inference\n" + body


# (id, content, line, column, field path, message fragment)
CASES: list[tuple[str, str | bytes, int | None, int | None, str, str]] = [
    # --- the file and its YAML -----------------------------------------------------------------
    ("empty-file", "", 1, 1, "", "the file is empty"),
    ("comments-only", "# nothing here\n", 1, 1, "", "the file is empty"),
    ("non-mapping-top", "- horizon\n- workloads\n", 1, 1, "", "found a list of 2 items"),
    ("scalar-top", "just words\n", 1, 1, "", "expected a mapping of scenario fields"),
    ("multiple-documents", HEAD + CHAT + "---\nname: two\n", 12, 1, "", "second YAML document"),
    (
        "non-utf8",
        b"name: caf\xe9\nhorizon: {start: 2026}\n",
        1,
        10,
        "",
        "not UTF-8 text (byte 0xe9",
    ),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, 1, "", "not UTF-8"),
    ("nul-byte", "name: x\x00\n", 1, 8, "", "not YAML text"),
    ("tab-indent", wl("demand_tokens_per_s: 1") + "\tpriority: 2\n", 12, 1, "", "tabs are not"),
    (
        "syntax-flow",
        HEAD + "workloads:\n  - name: [chat\n    kind: inference\n",
        10,
        9,
        "",
        "syntax",
    ),
    ("bad-indent", "horizon:\n  start: 2026-01\n   periods: 4\n", 3, 11, "", "not allowed here"),
    (
        "duplicate-key",
        wl("demand_tokens_per_s: 1", "name: other"),
        12,
        5,
        "workloads[0].name",
        "duplicate key 'name' (first at line 9)",
    ),
    (
        "python-tag",
        HEAD + "workloads: !!python/object/apply:os.system ['echo hi']\n",
        8,
        12,
        "workloads",
        "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    (
        "python-object-tag",
        HEAD + "workloads:\n  - !!python/object:hyperplan.scenario.schema.Inference {name: x}\n",
        9,
        5,
        "workloads[0]",
        "unsupported YAML tag 'tag:yaml.org,2002:python/object:hyperplan.scenario",
    ),
    (
        "python-name-scalar",
        wl("demand_tokens_per_s: !!python/name:os.system ''"),
        11,
        26,
        "workloads[0].demand_tokens_per_s",
        "unsupported YAML tag",
    ),
    # --- the schema ---------------------------------------------------------------------------
    (
        "unknown-top-level-field",
        HEAD + CHAT + "polices: {max_share: 0.5}\n",
        12,
        1,
        "polices",
        "unknown field 'polices'; did you mean 'policies'?",
    ),
    (
        "unknown-workload-field",
        wl("demnad_tokens_per_s: 5"),
        11,
        5,
        "workloads[0].demnad_tokens_per_s",
        "unknown field 'demnad_tokens_per_s'; did you mean 'demand_tokens_per_s'?",
    ),
    (
        "missing-series-field-from-typo",
        wl("demnad_tokens_per_s: 5"),
        9,
        5,
        "workloads[0].demand_tokens_per_s",
        "missing required field 'demand_tokens_per_s'",
    ),
    (
        "wrong-kind",
        HEAD + "workloads:\n  - name: chat\n    kind: inferance\n",
        10,
        11,
        "workloads[0].kind",
        "unknown kind 'inferance'; did you mean 'inference'? Expected one of: inference, training,",
    ),
    (
        "missing-kind",
        HEAD + "workloads:\n  - name: chat\n    demand_tokens_per_s: 5\n",
        9,
        5,
        "workloads[0].kind",
        "missing required field 'kind'",
    ),
    (
        "missing-required-field",
        wl(),
        9,
        5,
        "workloads[0].demand_tokens_per_s",
        "missing required field 'demand_tokens_per_s'",
    ),
    (
        "missing-horizon-start",
        "horizon:\n  periods: 4\n" + CHAT,
        1,
        1,
        "horizon.start",
        "missing required field 'start'",
    ),
    (
        "negative-demand",
        wl("demand_tokens_per_s: -5"),
        11,
        26,
        "workloads[0].demand_tokens_per_s",
        "expected a number from 0 to 1e+12 (output tokens/s), found -5",
    ),
    (
        "negative-in-list-series",
        wl("demand_tokens_per_s: [1, 2, -3, 4]"),
        11,
        33,
        "workloads[0].demand_tokens_per_s[2]",
        "expected a number from 0 to 1e+12 (output tokens/s), found -3",
    ),
    (
        "growth-as-string",
        wl("demand_tokens_per_s:", "  start: 100", "  growth_per_year: fast"),
        13,
        24,
        "workloads[0].demand_tokens_per_s.growth_per_year",
        "expected a number, found 'fast'",
    ),
    (
        "growth-field-typo",
        wl("demand_tokens_per_s: {strat: 100, growth_per_year: 0.5}"),
        11,
        27,
        "workloads[0].demand_tokens_per_s.strat",
        "unknown field 'strat'; did you mean 'start'?",
    ),
    (
        "series-garbage",
        wl("demand_tokens_per_s: lots"),
        11,
        26,
        "workloads[0].demand_tokens_per_s",
        "expected a number, a list of numbers, {start, growth_per_year} or {csv, column}; "
        "found 'lots'",
    ),
    (
        "date-garbage",
        HEAD + "workloads:\n  - name: t\n    kind: training\n    compute_gpu_hours: 1000\n"
        "    start: soon\n    deadline: 2026-06\n",
        12,
        12,
        "workloads[0].start",
        "expected a date like 2027-07-01, 2027-07, 2027-Q3 or 2027; found 'soon'",
    ),
    (
        "horizon-start-mid-month",
        "horizon:\n  start: 2026-01-15\n" + CHAT,
        2,
        10,
        "horizon.start",
        "start must be the first day of a month; found 2026-01-15",
    ),
    (
        "quarterly-horizon-in-february",
        "horizon:\n  start: 2026-02\n  period: quarter\n" + CHAT,
        2,
        10,
        "horizon.start",
        "a quarterly horizon starts on Jan, Apr, Jul or Oct 1; found 2026-02-01",
    ),
    (
        "period-typo",
        "horizon:\n  start: 2026-01\n  period: quartr\n" + CHAT,
        3,
        11,
        "horizon.period",
        "found 'quartr'; did you mean 'quarter'?",
    ),
    (
        "periods-zero",
        "horizon:\n  start: 2026-01\n  periods: 0\n" + CHAT,
        3,
        12,
        "horizon.periods",
        "expected a number from 1 to 600 (periods), found 0",
    ),
    (
        "discount-rate-2",
        "horizon:\n  start: 2026-01\n  discount_rate: 2\n" + CHAT,
        3,
        18,
        "horizon.discount_rate",
        "expected a number from 0 to 1 (fraction per year), found 2",
    ),
    (
        "duplicate-workload-names",
        HEAD + CHAT + "  - name: chat\n    kind: agents\n    demand_vcpus: 10\n",
        12,
        11,
        "workloads[1].name",
        "two workloads are named 'chat'",
    ),
    (
        "training-deadline-before-start",
        HEAD + "workloads:\n  - name: t\n    kind: training\n    compute_gpu_hours: 1000\n"
        "    start: 2026-06\n    deadline: 2026-03\n",
        13,
        15,
        "workloads[0].deadline",
        "deadline (2026-03-01) must be after start (2026-06-01)",
    ),
    (
        "contract-end-before-start",
        HEAD + "contracts:\n  - name: c\n    provider: aws\n    committed_usd: 1000000\n"
        "    start: 2027\n    end: 2026\n" + CHAT,
        13,
        10,
        "contracts[0].end",
        "end (2026-01-01) must be after start (2027-01-01)",
    ),
    (
        "max-share-1.5",
        HEAD + "policies:\n  max_share: 1.5\n" + CHAT,
        9,
        14,
        "policies.max_share",
        "expected a number from 0 to 1 (fraction), found 1.5",
    ),
    (
        "resilience-negative",
        wl("demand_tokens_per_s: 1", "resilience: -0.1"),
        12,
        17,
        "workloads[0].resilience",
        "expected a number from 0 to 1 (fraction), found -0.1",
    ),
    (
        "workload-name-with-space",
        HEAD + "workloads:\n  - name: my chat\n    kind: inference\n    demand_tokens_per_s: 1\n",
        9,
        11,
        "workloads[0].name",
        "found 'my chat'",
    ),
    (
        "market-typo",
        wl("demand_tokens_per_s: 1", "markets: [reserved, spott]"),
        12,
        25,
        "workloads[0].markets[1]",
        "found 'spott'; did you mean 'spot'?",
    ),
    (
        "workloads-empty",
        HEAD + "workloads: []\n",
        8,
        12,
        "workloads",
        "expected at least 1 item",
    ),
    (
        "horizon-not-a-mapping",
        "horizon: 2026\n" + CHAT,
        1,
        10,
        "horizon",
        "expected a mapping (key: value), found 2026",
    ),
    # --- cross-references and sanity (need the catalog) -------------------------------------
    (
        "list-series-wrong-length",
        wl("demand_tokens_per_s: [1, 2, 3]"),
        11,
        26,
        "workloads[0].demand_tokens_per_s",
        "expected 4 values (one per period), found 3",
    ),
    (
        "csv-series-missing-file",
        wl("demand_tokens_per_s: {csv: nope.csv, column: tokens}"),
        11,
        32,
        "workloads[0].demand_tokens_per_s.csv",
        "CSV file not found",
    ),
    (
        "unknown-accelerator",
        wl("demand_tokens_per_s: 1", "accelerators: [H10]"),
        12,
        20,
        "workloads[0].accelerators[0]",
        "unknown accelerator 'H10'; did you mean 'H100'",
    ),
    (
        "unknown-perf-key",
        wl("demand_tokens_per_s: 1", "perf_tokens_per_s: {H100: 100, B2000: 5}"),
        12,
        36,
        "workloads[0].perf_tokens_per_s.B2000",
        "unknown accelerator 'B2000'; did you mean 'B200'",
    ),
    (
        "unknown-reference-accelerator",
        HEAD + "workloads:\n  - name: t\n    kind: training\n    compute_gpu_hours: 1000\n"
        "    start: 2026-04\n    deadline: 2026-10\n    reference_accelerator: H1000\n",
        14,
        28,
        "workloads[0].reference_accelerator",
        "unknown accelerator 'H1000'",
    ),
    (
        "unknown-provider",
        wl("demand_tokens_per_s: 1", "providers: [awz]"),
        12,
        17,
        "workloads[0].providers[0]",
        "unknown provider 'awz'; did you mean 'aws'?",
    ),
    (
        "unknown-provider-key",
        HEAD.replace("oci: {}", "ocl: {}") + CHAT,
        7,
        3,
        "providers.ocl",
        "unknown provider 'ocl'; did you mean 'oci'?",
    ),
    (
        "provider-not-in-play",
        HEAD + "contracts:\n  - name: c\n    provider: gcp\n    committed_usd: 1000000\n"
        "    start: 2026\n    end: 2027\n" + CHAT,
        10,
        15,
        "contracts[0].provider",
        "provider 'gcp' is not in play (providers: aws, oci)",
    ),
    (
        "max-share-provider-not-in-play",
        HEAD + "policies:\n  max_share: {aws: 0.6, azure: 0.6}\n" + CHAT,
        9,
        25,
        "policies.max_share.azure",
        "provider 'azure' is not in play",
    ),
    (
        "unknown-region-for-provider",
        HEAD.replace("aws: {}", "aws:\n    regions:\n      us-east-9: {}") + CHAT,
        8,
        7,
        "providers.aws.regions.us-east-9",
        "unknown region 'us-east-9' for aws; did you mean",
    ),
    (
        "workload-region-unknown",
        wl("demand_tokens_per_s: 1", "regions: [europe-west4]"),
        12,
        15,
        "workloads[0].regions[0]",
        "unknown region 'europe-west4' for aws, oci",
    ),
    (
        "training-window-outside-horizon",
        HEAD + "workloads:\n  - name: t\n    kind: training\n    compute_gpu_hours: 1000\n"
        "    start: 2024\n    deadline: 2025-06\n",
        13,
        15,
        "workloads[0].deadline",
        "is not after the horizon start (2026-01-01)",
    ),
    (
        "training-starts-after-horizon",
        HEAD + "workloads:\n  - name: t\n    kind: training\n    compute_gpu_hours: 1000\n"
        "    start: 2027-Q2\n    deadline: 2027-12\n",
        12,
        12,
        "workloads[0].start",
        "at or after the horizon end (2027-01-01)",
    ),
    (
        "contract-ends-before-horizon",
        HEAD + "contracts:\n  - name: c\n    provider: aws\n    committed_usd: 1000000\n"
        "    start: 2024\n    end: 2025\n" + CHAT,
        13,
        10,
        "contracts[0].end",
        "contract ends (2025-01-01) before the horizon starts (2026-01-01)",
    ),
    (
        "absurd-demand",
        wl("demand_tokens_per_s: 1.0e15"),
        11,
        26,
        "workloads[0].demand_tokens_per_s",
        "1e+15 output tokens/s is beyond any plausible fleet",
    ),
    (
        "absurd-committed-usd",
        HEAD + "contracts:\n  - name: c\n    provider: aws\n    committed_usd: 5.0e13\n"
        "    start: 2026\n    end: 2027\n" + CHAT,
        11,
        20,
        "contracts[0].committed_usd",
        "expected a number from 0 to 1e+13 (USD), found 50000000000000",
    ),
    (
        "reservation-unknown-instance-type",
        HEAD + "reservations:\n  - provider: aws\n    region: us-east-1\n"
        "    instance_type: p5.48xl\n    instances: 10\n    start: 2025\n    end: 2027\n" + CHAT,
        11,
        20,
        "reservations[0].instance_type",
        "instance type 'p5.48xl' is not offered by aws in us-east-1; did you mean 'p5.48xlarge'?",
    ),
    (
        "filters-leave-no-offer",
        wl("demand_tokens_per_s: 1", "geo: [eu]", "accelerators: [GB300]"),
        9,
        5,
        "workloads[0]",
        "no catalog offer is left for workload 'chat' after its filters (geo [eu]; "
        "accelerators [GB300])",
    ),
    (
        "unknown-term-in-override",
        HEAD + "offers:\n  overrides:\n    - match: {provider: aws}\n"
        "      reserved_usd_per_hour: {1y: 30, 5y: 10}\n" + CHAT,
        11,
        39,
        "offers.overrides[0].reserved_usd_per_hour['5y']",
        "unknown term '5y'; expected one of the scenario's terms: 1y, 3y",
    ),
]


def test_missing_offer_csv_is_reported_without_cascade(tmp_path: Path) -> None:
    text = (
        HEAD.replace("oci: {}", "neo: {}")
        + "offers:\n  catalog_csv: [neo-offers.csv]\n"
        + CHAT
        + "    providers: [neo]\n"
    )
    problems = _load(tmp_path, text)
    assert [(p.line, p.column, p.path) for p in problems] == [(9, 17, "offers.catalog_csv[0]")]
    assert problems[0].message.startswith("file not found: ")


def _load(tmp_path: Path, content: str | bytes) -> list[Problem]:
    path = tmp_path / "scenario.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    for p in info.value.problems:
        assert p.file == str(path)
    return info.value.problems


@pytest.mark.parametrize(
    ("content", "line", "column", "path", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_located(
    tmp_path: Path,
    content: str | bytes,
    line: int | None,
    column: int | None,
    path: str,
    fragment: str,
) -> None:
    problems = _load(tmp_path, content)
    hits = [p for p in problems if p.path == path and fragment in p.message]
    assert hits, "\n".join(str(p) for p in problems)
    assert (hits[0].line, hits[0].column) == (line, column), str(hits[0])


def test_case_ids_are_distinct() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)) >= 30


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    started = time.perf_counter()
    problems = _load(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - started < 3.0
    assert "more than 100000 values" in problems[0].message


def test_too_many_aliases_are_refused(tmp_path: Path) -> None:
    text = "x: &x 1\ny: [" + ", ".join(["*x"] * 150) + "]\n"
    problems = _load(tmp_path, text)
    assert "more than 100 YAML aliases" in problems[0].message
    assert problems[0].line == 2


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    problems = _load(tmp_path, "x: &x [*x]\n")
    assert "nesting deeper than" in problems[0].message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.write(b"#" * (MAX_BYTES + 1))
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert "too large" in info.value.problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.problems[0].message == "file not found"


def test_all_problems_reported_together_sorted_by_line() -> None:
    text = wl("demand_tokens_per_s: -1", "resilience: 2", "priority: high") + (
        "  - name: x\n    kind: batch\n    demand_gpus: 1\n    perf: {H100: 0}\n"
    )
    with pytest.raises(InputError) as info:
        load_scenario_text(text, filename="s.yaml")
    problems = info.value.problems
    assert [p.line for p in problems] == [11, 12, 13, 17]
    assert problems[2].message == "expected a whole number, found 'high'"
    assert problems[3].path == "workloads[1].perf.H100"
    assert problems[3].message.startswith("expected a number from 0.001 to 1000")
    assert problems[3].message.endswith(", found 0")


def test_cross_reference_problems_reported_together() -> None:
    text = wl("demand_tokens_per_s: [1, 2]", "accelerators: [H10]", "providers: [awz]")
    with pytest.raises(InputError) as info:
        load_scenario_text(text, filename="s.yaml")
    paths = [p.path for p in info.value.problems]
    assert paths == [
        "workloads[0].demand_tokens_per_s",
        "workloads[0].accelerators[0]",
        "workloads[0].providers[0]",
    ]


def test_format_problems() -> None:
    with pytest.raises(InputError) as info:
        load_scenario_text(wl("demand_tokens_per_s: -5"), filename="s.yaml")
    text = format_problems(info.value.problems)
    assert text.splitlines() == [
        "s.yaml:11:26: workloads[0].demand_tokens_per_s: expected a number from 0 to 1e+12 "
        "(output tokens/s), found -5",
        "1 problem found",
    ]


def test_check_false_skips_cross_references() -> None:
    scenario = load_scenario_text(wl("demand_tokens_per_s: 1", "accelerators: [H10]"), check=False)
    assert scenario.workloads[0].accelerators == ["H10"]
