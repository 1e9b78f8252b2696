"""The public Python API: ``from hyperplan import ...`` works, stays lazy, and every public name's
docstring example runs (doctest, from the repository root, on examples/small.yaml)."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

import hyperplan

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ["load_scenario", "load_catalog", "plan", "Plan", "simulate", "SimResult", "write_report"]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )


def test_import_hyperplan_loads_none_of_the_heavy_layers() -> None:
    done = _python(
        "import sys, hyperplan\n"
        "heavy = [m for m in ('pandas', 'numpy', 'highspy', 'pydantic', 'hyperplan.plan',"
        " 'hyperplan.sim', 'hyperplan.report', 'hyperplan.scenario') if m in sys.modules]\n"
        "print(heavy, sorted(set(hyperplan.__all__) - set(dir(hyperplan))))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"  # nothing heavy; dir() lists every public name


@pytest.mark.parametrize("first", ["nothing", "hyperplan.plan.api"])
def test_from_hyperplan_import_the_public_names(first: str) -> None:
    """``plan`` is the subpackage and the function at once, whichever was imported first."""
    prelude = "" if first == "nothing" else f"import {first}\n"
    done = _python(
        prelude + f"from hyperplan import {', '.join(PUBLIC)}\n"
        "result = plan(load_scenario('examples/small.yaml'))\n"
        "print(type(result) is Plan, result.status, callable(simulate), isinstance(SimResult, type))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True optimal True True"


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hyperplan.nope  # noqa: B018
    with pytest.raises(ImportError):
        exec("from hyperplan import nope")


def test_plan_signature_is_the_functions() -> None:
    import inspect

    from hyperplan.plan.api import plan as function

    assert inspect.signature(hyperplan.plan) == inspect.signature(function)


def test_dir_of_a_plan_lists_its_tables() -> None:
    result = hyperplan.plan(hyperplan.load_scenario(ROOT / "examples" / "small.yaml"))
    names = dir(result)
    assert set(result.tables) <= set(names)
    assert {"spend", "commitments", "capacity", "to_json", "status"} <= set(names)
    assert names == sorted(names)
    assert result.spend is result.tables["spend"]


def _documented() -> list[tuple[str, object]]:
    import hyperplan.plan as plan_package

    objects = [(name, getattr(hyperplan, name)) for name in PUBLIC]
    objects.append(("hyperplan", hyperplan))
    objects.append(("hyperplan.plan.api.plan", plan_package.api.plan))
    objects.append(("ProgressEvent", hyperplan.ProgressEvent))
    return objects


@pytest.mark.parametrize(("name", "obj"), _documented(), ids=[n for n, _ in _documented()])
def test_docstring_examples_run(name: str, obj: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples read examples/small.yaml
    finder = doctest.DocTestFinder(recurse=False)
    tests = [t for t in finder.find(obj, name, globs={}) if t.examples]
    assert tests, f"{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    summary = runner.summarize(verbose=False)
    assert summary.attempted >= 2 and summary.failed == 0, f"{name}: {summary}"
