"""The terminal experience of the ``hyperplan`` command, through real processes.

Width follows $COLUMNS in a pipe and never cuts an id; results on stdout, notes and warnings on
stderr; -h; -q; --json documents with their documented keys; -o - writes to stdout; a file of
the wrong kind is exit 2; a Ctrl-C while the modules load exits 130 quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small.yaml"


def hyperplan(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """plan.json of examples/small.yaml (written once) and its parsed content."""
    folder = tmp_path_factory.mktemp("planned")
    proc = hyperplan("plan", str(SMALL), "-o", "plan.json", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "plan.json", json.loads((folder / "plan.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("columns", [60, 100, 200])
def test_plan_output_follows_columns_and_keeps_every_id_whole(
    columns: int, tmp_path: Path, planned: tuple[Path, dict]
) -> None:
    proc = hyperplan("plan", str(SMALL), cwd=tmp_path, columns=columns)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in proc.stdout  # nothing abbreviated with an ellipsis
    instances = set(planned[1]["tables"]["commitments"]["columns"]["instance_type"]["values"])
    assert instances, "the example plan has commitments"
    for instance in instances:  # each id on one line, whole
        assert any(instance in line for line in lines), (instance, proc.stdout)
    if columns == 200:  # wide enough for every table: no row falls back to one line per row
        assert "  provider " not in proc.stdout


def test_catalog_at_60_columns_keeps_instance_ids_whole(tmp_path: Path) -> None:
    doc = json.loads(hyperplan("catalog", "-a", "H100", "--json", cwd=tmp_path).stdout)
    proc = hyperplan("catalog", "-a", "H100", cwd=tmp_path, columns=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 60 and "…" not in proc.stdout
    ids = {o["instance_type"] for o in doc["offers"]}
    assert len(ids) >= 5 and doc["shown"] == doc["total"] == len(doc["offers"])
    for instance in ids:
        assert any(instance in line for line in lines), instance


def test_filters_take_comma_lists_the_same_as_repeated_options(tmp_path: Path) -> None:
    def offers(*args: str) -> list[tuple[str, str, str, str]]:
        done = hyperplan("catalog", *args, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)["offers"]
        return sorted(
            (r["provider"], r["region"], r["instance_type"], r["accelerator"]) for r in rows
        )

    commas = offers("-a", "H100,L4", "-p", "aws, gcp")
    assert commas == offers("-a", "H100", "-a", "L4", "-p", "aws", "-p", "gcp")
    assert {a for *_, a in commas} == {"H100", "L4"} and {p for p, *_ in commas} == {"aws", "gcp"}
    bad = hyperplan("catalog", "-p", "aws,awz", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown provider 'awz'" in bad.stderr


def test_results_on_stdout_notes_on_stderr_and_quiet_drops_notes(tmp_path: Path) -> None:
    proc = hyperplan("plan", str(SMALL), "-o", "plan.json", cwd=tmp_path)
    assert proc.returncode == 0
    assert "wrote plan.json" in proc.stderr and "wrote" not in proc.stdout
    assert "warning:" not in proc.stdout
    assert proc.stdout.startswith("small: optimal")
    quiet = hyperplan("plan", str(SMALL), "-o", "plan.json", "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and "wrote" not in quiet.stderr
    assert quiet.stdout.splitlines()[0] == proc.stdout.splitlines()[0]


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_h_is_help_for_the_app_and_every_command(flag: str, tmp_path: Path) -> None:
    for args in ([flag], ["plan", flag], ["ledger", "list", flag], ["actuals", "report", flag]):
        proc = hyperplan(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout.startswith("Usage:"), args
    top = hyperplan(flag, cwd=tmp_path).stdout
    assert "--quiet" in top and "--verbose" in top and "--install-completion" in top


def test_json_documents_have_their_documented_keys(
    tmp_path: Path, planned: tuple[Path, dict]
) -> None:
    plan_json = str(planned[0])
    documents = {
        ("validate", str(SMALL), "--json"): {
            "schema",
            "file",
            "valid",
            "scenario",
            "period",
            "periods",
            "first_period",
            "last_period",
            "providers",
            "workloads",
            "outage_scenarios",
            "contracts",
            "reservations",
            "warnings",
        },
        ("plan", str(SMALL), "--json"): {
            "schema",
            "scenario",
            "status",
            "objective_usd",
            "total_usd",
            "npv_usd",
            "max_share",
            "peak_mw",
            "target_mw",
            "spend_per_year_usd",
            "commitments",
            "top_commitments",
            "misses",
            "warnings",
            "stats",
            "written",
        },
        ("compare", str(SMALL), "-s", "multi", "-s", "greedy", "--json"): {
            "schema",
            "strategies",
            "misses",
            "paired",
        },
        ("simulate", plan_json, "-n", "20", "--json"): {"schema", "meta", "metrics", "written"},
        ("catalog", "-a", "H100", "-n", "3", "--json"): {"schema", "total", "shown", "offers"},
        ("ledger", "list", "--db", str(tmp_path / "l.db"), "--json"): None,
    }
    for args, keys in documents.items():
        proc = hyperplan(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
        doc = json.loads(proc.stdout)  # one document, nothing else on stdout
        if keys is None:
            assert doc == []
            continue
        assert set(doc) == keys, args
        assert doc["schema"] == f"hyperplan.{args[0] if args[0] != 'plan' else 'plan-summary'}/1"
    plan_doc = json.loads(hyperplan("plan", str(SMALL), "--json", cwd=tmp_path).stdout)
    assert plan_doc["status"] == planned[1]["status"]
    assert plan_doc["objective_usd"] == pytest.approx(planned[1]["objective_usd"], rel=1e-9)
    assert plan_doc["commitments"] == len(
        planned[1]["tables"]["commitments"]["columns"]["instance_type"]["values"]
    )


def test_dash_output_writes_the_artifact_to_stdout(
    tmp_path: Path, planned: tuple[Path, dict]
) -> None:
    proc = hyperplan("plan", str(SMALL), "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the plan.json itself, and nothing else
    assert doc["schema"] == "hyperplan.plan/1"
    assert doc["tables"]["commitments"] == planned[1]["tables"]["commitments"]
    assert not (tmp_path / "-").exists()
    html = hyperplan("report", str(planned[0]), "-o", "-", cwd=tmp_path)
    assert html.returncode == 0 and html.stdout.lstrip().lower().startswith("<!doctype html")
    both = hyperplan("plan", str(SMALL), "-o", "-", "--json", cwd=tmp_path)
    assert both.returncode == 2 and "only one output can go to stdout" in both.stderr


def test_a_file_of_the_wrong_kind_is_an_input_error(tmp_path: Path) -> None:
    proc = hyperplan("report", str(SMALL), cwd=tmp_path)
    assert proc.returncode == 2
    assert "is a scenario (YAML); expected a plan.json" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "report.html").exists()


def test_paired_differences_of_shares_are_percentage_points(tmp_path: Path) -> None:
    proc = hyperplan(
        "compare",
        str(SMALL),
        "-s",
        "multi",
        "-s",
        "greedy",
        "--simulate",
        "-n",
        "30",
        cwd=tmp_path,
        columns=200,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [
        line for line in proc.stdout.splitlines() if "served_fraction:" in line or "goodput" in line
    ]
    assert rows and all(" pp" in row for row in rows), rows
    assert "+0.0" not in proc.stdout and "-0.0000" not in proc.stdout


def test_ctrl_c_while_the_modules_load_exits_130_quietly(tmp_path: Path) -> None:
    """SIGINT arrives inside the import of the command modules (an import hook sends it)."""
    script = textwrap.dedent(
        """
        import os, signal, sys

        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "hyperplan.cli.root":
                    os.kill(os.getpid(), signal.SIGINT)
                return None

        sys.meta_path.insert(0, Interrupt())
        sys.argv = ["hyperplan", "catalog"]
        from hyperplan.cli import main
        main()
        print("not reached")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_a_swallowed_ctrl_c_still_exits_130(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised inside a __del__ is swallowed by Python ("Exception ignored"):
    the command still ends with 130, silently about the swallowed exception."""
    script = textwrap.dedent(
        """
        import gc, os, signal, sys
        import hyperplan.scenario.load as load

        real = load.load_scenario

        class Trap:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGINT)

        def loading(*args, **kwargs):
            Trap()
            gc.collect()
            return real(*args, **kwargs)

        load.load_scenario = loading
        sys.argv = ["hyperplan", "validate", sys.argv[1]]
        from hyperplan.cli import main
        main()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(SMALL)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 130, proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr
    assert "interrupted" in proc.stderr
