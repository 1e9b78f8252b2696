"""The docs cannot drift from the code: their examples run, the site builds, the schema holds.

Conventions in ``docs/*.md`` (top-level fences only):

- ```` ```python ```` blocks run in order, in one namespace per page, in a temporary directory
  holding a copy of ``examples/``;
- ```` ```bash ```` blocks whose first line starts with ``hyperplan `` run, line by line, through
  the CLI (Typer's CliRunner) and must exit 0; an HTML comment ``<!-- docs-test: fails -->``
  on the line before the block says they must fail (exit status not 0);
- a ```` ```text ```` block right after such a bash or python block is its output, compared
  with what the commands (or the snippet) print (durations masked, spacing and table rules folded); a line ``...`` in it
  stands for lines left out;
- ```` ```yaml title="name.yaml" ```` blocks are written to that file before what follows runs;
- ```` ```sh ```` blocks are shown, never run (installation, long runs, other tools);
- ``<!-- docs-test: skip -->`` before a block leaves it out.

``HYPERPLAN_DOCS_UPDATE=1 python -m pytest tests/test_docs.py`` rewrites output blocks without
``...`` to what the commands print now (read the diff before committing it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import importlib.util
import io
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from hyperplan.cli.schema import register
from hyperplan.scenario import schema as models
from hyperplan.scenario.jsonschema import (
    MODELINE,
    SCHEMA_FILE,
    scenario_json_schema,
    scenario_reference_markdown,
    schema_text,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
TEMPLATES = ROOT / "src" / "hyperplan" / "templates"
UPDATE = os.environ.get("HYPERPLAN_DOCS_UPDATE") == "1"

#: Pages written by others whose snippets are illustrations, not runnable yet (with the reason).
NOT_RUN = {
    "catalog.md": "illustrative snippet: reads my_offers.csv and aws_vms.csv, which do not exist",
    "simulation.md": "plans frontier-2030 and simulates 1000 trials (minutes); names undefined",
    "report.md": "illustrative snippet: plan, sim_result, compare_table are not defined",
}

# ----------------------------------------------------------------------------------------------
# Reading the docs
# ----------------------------------------------------------------------------------------------

FENCE = re.compile(r"^(?P<fence>`{3,})(?P<lang>[\w+-]*)\s*(?P<info>.*)$")
DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?P<what>[\w-]+)\s*-->\s*$")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    end: int  # 0-based index of the closing fence line
    lang: str
    attrs: dict[str, str]
    text: str
    directive: str | None = None
    after_block: bool = False  # only blank lines since the previous block closed
    output: Block | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang == "python" or self.is_cli

    @property
    def is_cli(self) -> bool:
        return self.lang == "bash" and self.text.lstrip().startswith("hyperplan ")


def read_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i, last_end, directive = 0, None, None
    while i < len(lines):
        line = lines[i]
        if m := DIRECTIVE.match(line):
            directive = m["what"]
        m = FENCE.match(line)
        if not m:
            if line.strip() and not DIRECTIVE.match(line):
                directive = None
            i += 1
            continue
        fence = m["fence"]
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        between = lines[last_end + 1 : i] if last_end is not None else ["x"]
        block = Block(
            page=path.relative_to(DOCS).as_posix(),
            line=i + 1,
            end=j,
            lang=m["lang"],
            attrs=dict(re.findall(r'(\w+)="([^"]*)"', m["info"])),
            text="\n".join(lines[i + 1 : j]) + "\n",
            directive=directive,
            after_block=all(not s.strip() for s in between),
        )
        if blocks and block.lang == "text" and block.after_block and blocks[-1].runs:
            blocks[-1].output = block
        blocks.append(block)
        last_end, directive = j, None
        i = j + 1
    return blocks


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def commands(block: Block) -> list[list[str]]:
    """The command lines of a bash block: continuations joined, comments dropped."""
    text = block.text.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "hyperplan", f"{block.where}: not a hyperplan command: {line}"
            out.append(words[1:])
    return out


ANSI = re.compile(r"\x1b\[[0-9;]*m")
DURATION = re.compile(r"\d+(\.\d+)? s\b")
RULE = re.compile(r"[─━═]+")


def normalise(text: str) -> list[str]:
    """Lines compared loosely: no colours, durations masked, spacing and table rules folded."""
    out = []
    for line in ANSI.sub("", text).splitlines():
        line = RULE.sub("─", DURATION.sub("# s", line))
        out.append(re.sub(r"\s+", " ", line).strip())
    return out


def output_matches(expected: str, actual: str) -> bool:
    """``expected`` appears in ``actual``; a line ``...`` stands for any lines (incl. none)."""
    got = normalise(actual)
    chunks: list[list[str]] = [[]]
    for line in normalise(expected):
        if line == "...":
            chunks.append([])
        else:
            chunks[-1].append(line)
    anchored_start = bool(chunks[0])
    pos = 0
    for n, chunk in enumerate(chunks):
        if not chunk:
            continue
        k = len(chunk)
        starts = [pos] if (n == 0 and anchored_start) else range(pos, len(got) - k + 1)
        for s in starts:
            if got[s : s + k] == chunk:
                pos = s + k
                break
        else:
            return False
    ends_open = not chunks[-1]
    return ends_open or pos == len(got)


# ----------------------------------------------------------------------------------------------
# Running them
# ----------------------------------------------------------------------------------------------


def cli_app() -> typer.Typer:
    from hyperplan.cli import app

    if not any(c.name == "schema" for c in app.registered_commands):
        register(app)  # until hyperplan.cli registers it itself
    return app


def run_cli(block: Block) -> str:
    app, runner = cli_app(), CliRunner()
    printed = []
    for args in commands(block):
        result = runner.invoke(app, args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        shown = f"hyperplan {shlex.join(args)}"
        if block.directive == "fails":
            assert result.exit_code != 0, f"{block.where}: `{shown}` should fail:\n{result.output}"
        else:
            assert result.exit_code == 0, (
                f"{block.where}: `{shown}` exited {result.exit_code}:\n{result.output}"
            )
        printed.append(result.output)
    return "".join(printed)


def update_output(block: Block, actual: str) -> None:
    path = DOCS / block.page
    lines = path.read_text(encoding="utf-8").splitlines()
    start, end = block.line, block.end  # content lines: [start, end)
    new = [line.rstrip() for line in ANSI.sub("", actual).rstrip("\n").splitlines()]
    path.write_text("\n".join(lines[:start] + new + lines[end:]) + "\n", encoding="utf-8")


def run_page(page: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run every block of a page in ``workdir``; return how many ran."""
    shutil.copytree(EXAMPLES, workdir / "examples")
    monkeypatch.chdir(workdir)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    ran = 0
    stale: list[tuple[Block, str]] = []
    for block in read_blocks(page):
        if block.directive == "skip":
            continue
        if block.lang == "yaml" and "title" in block.attrs:
            target = workdir / block.attrs["title"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
        elif block.runs:
            if block.lang == "python":
                with contextlib.redirect_stdout(io.StringIO()) as printed:
                    exec(compile(block.text, block.where, "exec"), namespace)
                actual = printed.getvalue()
            else:
                actual = run_cli(block)
            ran += 1
            out = block.output
            if out is None or output_matches(out.text, actual):
                continue
            if UPDATE and "..." not in normalise(out.text):
                stale.append((out, actual))
                continue
            pytest.fail(
                f"{out.where}: the output shown is not what `{block.text.strip()}` prints now; "
                "update the block (HYPERPLAN_DOCS_UPDATE=1 rewrites blocks without '...')."
                f"\n--- shown ---\n{out.text}--- printed ---\n{actual}"
            )
    for out, actual in reversed(stale):  # bottom-up: line numbers above stay valid
        update_output(out, actual)
    if stale:
        pytest.fail(f"updated {len(stale)} output block(s) in docs/{page.name}: review the diff")
    return ran


def test_conventions_parse() -> None:
    text = (
        'intro\n\n```yaml title="a.yaml"\nx: 1\n```\n\n<!-- docs-test: fails -->\n'
        "```bash\nhyperplan validate a.yaml  # comment\n```\n\n```text\nout\n```\n"
    )
    page = DOCS / "_conventions_test.md"
    try:
        page.write_text(text, encoding="utf-8")
        blocks = read_blocks(page)
    finally:
        page.unlink()
    assert [b.lang for b in blocks] == ["yaml", "bash", "text"]
    assert blocks[0].attrs == {"title": "a.yaml"}
    assert blocks[1].directive == "fails" and blocks[1].output is blocks[2]
    assert commands(blocks[1]) == [["validate", "a.yaml"]]


def test_output_matching() -> None:
    actual = "a  1\nsolver: build 0.03 s\n┏━━┓\nz\n"
    assert output_matches("a 1\nsolver: build 9.99 s\n┏━━━━┓\nz\n", actual)
    assert output_matches("a 1\n...\nz\n", actual)
    assert output_matches("...\nz\n", actual)
    assert not output_matches("a 2\n...\n", actual)
    assert not output_matches("a 1\n", actual)  # no trailing '...': the whole output


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if page.name in NOT_RUN:
        pytest.skip(f"docs/{page.name}: {NOT_RUN[page.name]}")
    run_page(page, tmp_path, monkeypatch)


def test_not_run_list_is_current() -> None:
    for name in NOT_RUN:
        if (DOCS / name).exists():
            runnable = [b for b in read_blocks(DOCS / name) if b.lang == "python" or b.is_cli]
            assert runnable, f"docs/{name} has nothing to run any more: drop it from NOT_RUN"


def test_my_pages_have_examples_that_run() -> None:
    """The pages written for this issue all carry runnable examples."""
    for name in ("index.md", "tutorial.md", "questions.md", "api.md"):
        blocks = read_blocks(DOCS / name)
        assert any(b.lang == "python" or b.is_cli for b in blocks), name
    tutorial = read_blocks(DOCS / "tutorial.md")
    assert sum(1 for b in tutorial if b.is_cli and b.output is not None) >= 6


def test_tutorial_ends_at_the_small_example(tmp_path: Path) -> None:
    """The tutorial's last scenario is ``examples/small.yaml`` (comments aside)."""
    steps = [
        b for b in read_blocks(DOCS / "tutorial.md") if b.attrs.get("title") == "scenario.yaml"
    ]
    assert len(steps) >= 5
    final = models.Scenario.model_validate(yaml.safe_load(steps[-1].text))
    small = models.Scenario.model_validate(yaml.safe_load((EXAMPLES / "small.yaml").read_text()))
    assert final.model_dump() == small.model_dump()


def _ranges(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split():
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def test_tutorial_highlights_what_changed() -> None:
    """Each step's ``hl_lines`` are exactly the lines that differ from the step before."""
    steps = [
        b for b in read_blocks(DOCS / "tutorial.md") if b.attrs.get("title") == "scenario.yaml"
    ]
    for before, after in itertools.pairwise(steps):
        old, new = before.text.splitlines(), after.text.splitlines()
        changed = {
            line + 1
            for op, _, _, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes()
            if op in ("replace", "insert")
            for line in range(j1, j2)
        }
        assert _ranges(after.attrs.get("hl_lines", "")) == changed, after.where


# ----------------------------------------------------------------------------------------------
# The site
# ----------------------------------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    missing = [
        m
        for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
        if _missing(m)
    ]
    if missing:
        pytest.skip(
            f'the docs toolchain is not installed ({", ".join(missing)}): pip install ".[test,docs]"'
        )
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    reference = (site / "reference" / "scenario" / "index.html").read_text(encoding="utf-8")
    for name in ("Horizon", "Inference", "Policies", "compute_gpu_hours", "max_share"):
        assert name in reference
    published = json.loads((site / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert published == scenario_json_schema()
    assert (site / "api" / "index.html").read_text(encoding="utf-8").count("walk_away") >= 1


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


# ----------------------------------------------------------------------------------------------
# The JSON Schema
# ----------------------------------------------------------------------------------------------


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = [("Scenario", k, v) for k, v in schema["properties"].items()]
    for name, node in schema["$defs"].items():
        out += [(name, k, v) for k, v in node.get("properties", {}).items()]
    return out


def _admits_number(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("type") in ("number", "integer"):
            return True
        if node.get("$ref") == "#/$defs/Series":
            return True
        return any(_admits_number(v) for k, v in node.items() if k in ("anyOf", "allOf", "items"))
    if isinstance(node, list):
        return any(_admits_number(v) for v in node)
    return False


def test_every_property_has_description_examples_and_unit() -> None:
    schema = scenario_json_schema()
    problems = []
    for model, name, prop in _properties(schema):
        if not prop.get("description"):
            problems.append(f"{model}.{name}: no description")
        if not prop.get("examples"):
            problems.append(f"{model}.{name}: no examples")
        if _admits_number(prop) and not prop.get("x-unit"):
            problems.append(f"{model}.{name}: a number without a unit (x-unit)")
    assert not problems, (
        "add Field(description=..., examples=[...], json_schema_extra=about(unit)) in "
        "hyperplan/scenario/models/:\n  " + "\n  ".join(problems)
    )
    for name, node in schema["$defs"].items():
        assert node.get("description"), f"$defs/{name}: no description (the model's docstring)"


def test_schema_is_draft07_and_valid() -> None:
    schema = scenario_json_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"] and schema["title"]
    text = json.dumps(schema)
    assert '"format": "date"' not in text  # dates are $defs/When (2027, 2027-Q3 too)
    assert '"discriminator"' not in text  # OpenAPI, not JSON Schema

    def no_ref_siblings(node: Any) -> None:
        if isinstance(node, dict):
            assert "$ref" not in node or len(node) == 1, f"keywords beside $ref: {node}"
            for v in node.values():
                no_ref_siblings(v)
        elif isinstance(node, list):
            for v in node:
                no_ref_siblings(v)

    no_ref_siblings(schema)
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    jsonschema.Draft7Validator.check_schema(schema)


class Yaml12Loader(yaml.SafeLoader):
    """YAML as editors read it (1.2 core schema): 2027-01-01 and 1_500_000 are strings."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [
        (tag, rx)
        for tag, rx in resolvers
        if tag.rsplit(":", 1)[-1] not in ("timestamp", "int", "float", "bool")
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def _validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Errors of ``instance`` against ``schema``: jsonschema when installed, else a small
    validator of the keywords this schema uses."""
    try:
        import jsonschema
    except ImportError:
        return _mini_validate(instance, schema, schema, "")
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(instance)
    ]


def _mini_validate(x: Any, s: dict[str, Any], root: dict[str, Any], at: str) -> list[str]:
    if "$ref" in s:
        node: Any = root
        for part in s["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return _mini_validate(x, node, root, at)
    errs: list[str] = []
    kinds = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
        "integer": int,
        "number": (int, float),
    }
    if "type" in s:
        ok = isinstance(x, kinds[s["type"]]) and not (
            s["type"] in ("integer", "number") and isinstance(x, bool)
        )
        if not ok:
            return [f"{at}: {x!r} is not of type {s['type']}"]
    if "enum" in s and x not in s["enum"]:
        errs.append(f"{at}: {x!r} not in {s['enum']}")
    if "const" in s and x != s["const"]:
        errs.append(f"{at}: {x!r} != {s['const']!r}")
    if isinstance(x, str) and "pattern" in s and not re.search(s["pattern"], x):
        errs.append(f"{at}: {x!r} does not match {s['pattern']}")
    if isinstance(x, int | float) and not isinstance(x, bool):
        if "minimum" in s and x < s["minimum"]:
            errs.append(f"{at}: {x} < {s['minimum']}")
        if "maximum" in s and x > s["maximum"]:
            errs.append(f"{at}: {x} > {s['maximum']}")
        if "exclusiveMinimum" in s and x <= s["exclusiveMinimum"]:
            errs.append(f"{at}: {x} <= {s['exclusiveMinimum']}")
    if isinstance(x, dict):
        props = s.get("properties", {})
        for key in s.get("required", ()):
            if key not in x:
                errs.append(f"{at}: {key!r} is required")
        for key, value in x.items():
            if key in props:
                errs += _mini_validate(value, props[key], root, f"{at}/{key}")
            elif s.get("additionalProperties") is False:
                errs.append(f"{at}: unexpected {key!r}")
            elif isinstance(s.get("additionalProperties"), dict):
                errs += _mini_validate(value, s["additionalProperties"], root, f"{at}/{key}")
    if isinstance(x, list):
        if len(x) < s.get("minItems", 0):
            errs.append(f"{at}: fewer than {s['minItems']} items")
        for i, item in enumerate(x):
            if "items" in s:
                errs += _mini_validate(item, s["items"], root, f"{at}/{i}")
    for sub in s.get("allOf", ()):
        if "if" in sub:
            if not _mini_validate(x, sub["if"], root, at):
                errs += _mini_validate(x, sub["then"], root, at)
        else:
            errs += _mini_validate(x, sub, root, at)
    if "anyOf" in s and all(_mini_validate(x, a, root, at) for a in s["anyOf"]):
        errs.append(f"{at}: {x!r} matches none of the alternatives")
    return errs


@pytest.mark.parametrize("name", ["small.yaml", "frontier-2030.yaml"])
def test_examples_validate_against_the_schema_as_editors_read_them(name: str) -> None:
    data = yaml.load((EXAMPLES / name).read_text(encoding="utf-8"), Loader=Yaml12Loader)
    assert isinstance(data["horizon"]["start"], str)  # read as YAML 1.2, as an editor does
    assert _validate(data, scenario_json_schema()) == []


def test_schema_rejects_what_the_loader_rejects() -> None:
    schema = scenario_json_schema()
    good = yaml.load((EXAMPLES / "small.yaml").read_text(encoding="utf-8"), Loader=Yaml12Loader)
    cases = {
        "unknown field": ("workloads", 0, "compute_gpu_hour", 5),
        "unknown kind": ("workloads", 1, "kind", "serving"),
        "bad period": ("horizon", None, "period", "week"),
        "share above 1": ("policies", None, "max_share", 1.5),
        "bad date": ("workloads", 0, "start", "Q2-2027"),
        "negative demand": ("workloads", 1, "demand_tokens_per_s", -5),
    }
    for what, (top, index, key, value) in cases.items():
        bad = json.loads(json.dumps(good))
        target = bad[top] if index is None else bad[top][index]
        target[key] = value
        assert _validate(bad, schema), f"the schema accepts a scenario with {what}"
        with pytest.raises(ValueError):
            models.Scenario.model_validate(yaml.safe_load(yaml.safe_dump(bad)))
    missing = {k: v for k, v in good.items() if k != "horizon"}
    assert _validate(missing, schema)


def test_the_spellings_the_loader_accepts_are_in_the_schema() -> None:
    schema = scenario_json_schema()
    base: dict[str, Any] = {
        "horizon": {"start": 2027, "periods": "1_2"},  # 1_2: YAML 1.1's 12, a string in 1.2
        "workloads": [{"name": "w", "kind": "agents", "demand_vcpus": "demand.csv"}],
    }
    assert _validate(base, schema) == []
    for start in ("2027-Q3", "2027-07", "2027-07-01", 2027):
        base["horizon"]["start"] = start
        assert _validate(base, schema) == [], start
        parsed = models.Horizon.model_validate({"start": start}).start
        assert isinstance(parsed, dt.date)


def test_every_example_in_the_schema_is_valid() -> None:
    schema = scenario_json_schema()
    for model, name, prop in _properties(schema):
        for example in prop.get("examples", ()):
            errors = _validate(example, {**prop, "$defs": schema["$defs"]})
            assert not errors, f"{model}.{name}: example {example!r}: {errors}"


def test_committed_schema_is_up_to_date() -> None:
    committed = EXAMPLES / SCHEMA_FILE
    assert committed.read_text(encoding="utf-8") == schema_text(), (
        f"examples/{SCHEMA_FILE} is stale: hyperplan schema -o examples/{SCHEMA_FILE}"
    )


@pytest.mark.parametrize("folder", [EXAMPLES, TEMPLATES])
def test_scenarios_start_with_the_editor_modeline(folder: Path) -> None:
    for path in sorted(folder.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == MODELINE, f"{path}: first line should be {MODELINE!r}"


def test_reference_covers_every_model_and_field() -> None:
    schema = scenario_json_schema()
    page = scenario_reference_markdown(schema)
    for name in schema["$defs"]:
        assert f"### {name} {{ #{name.lower()} }}" in page, name
    for model, name, _ in _properties(schema):
        assert f"| `{name}` |" in page, f"{model}.{name}"
    assert "do not edit" in page


# ----------------------------------------------------------------------------------------------
# hyperplan schema
# ----------------------------------------------------------------------------------------------


def _schema_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _main() -> None:
        """A one-command app keeps its subcommand name."""

    return app


def test_schema_command_prints_the_schema() -> None:
    result = CliRunner().invoke(_schema_app(), ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == scenario_json_schema()


def test_schema_command_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / SCHEMA_FILE
    result = CliRunner().invoke(_schema_app(), ["schema", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output
    assert target.read_text(encoding="utf-8") == schema_text()
    assert [p.name for p in target.parent.iterdir()] == [SCHEMA_FILE]  # no temporary left


def test_schema_command_reports_a_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(_schema_app(), ["schema", "-o", str(blocker / SCHEMA_FILE)])
    assert result.exit_code == 2  # refused before writing: a located input error (issue 18)
    message = " ".join(result.output.split())
    assert "--output: cannot be written: a parent of it is a file" in message
    assert "Traceback" not in result.output
