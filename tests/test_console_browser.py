"""The console end to end in headless Chromium (Debian's /usr/bin/chromium through Playwright's
Python client; no browser is downloaded): a real ``hyperplan serve`` and a real ``hyperplan
worker`` on a temporary SQLite ledger, tokens from ``hyperplan token create``.

A planner signs in, uploads a scenario with an error and sees it located, fixes it, runs a
plan, watches its progress, opens the report and requests adoption; a viewer finds no approve
button and is refused when posting anyway; an approver (another user) approves, then sees the
ledger and the audit entry. Every page passes axe-core with no serious or critical violation,
at 1280 and 420 px, with no console error.

``HYPERPLAN_CONSOLE_SHOTS=DIR`` also writes a screenshot of each page at both widths to DIR
(the ones in docs/console/).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import ledger_db
from hyperplan.ledger.db import open_ledger
from hyperplan.ledger.models import Contract, Workspace, utcnow
from jobs_helpers import start_worker
from server_helpers import ROOT, SMALL
from test_console import BILLS, HEADER
from test_server_process import Server

db_url, postgres_url = ledger_db.db_url, ledger_db.postgres_url

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path.home() / ".cache" / "hyperplan-axe" / "node_modules" / "axe-core" / "axe.min.js"
WS = "team-a"
WIDTHS = (1280, 420)

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium: apt-get install -y chromium",
    ),
]


def axe_source() -> str:
    if not AXE.exists():
        if shutil.which("npm") is None:
            pytest.skip(
                "axe-core needs npm: apt-get install -y npm, then "
                "npm install --prefix ~/.cache/hyperplan-axe axe-core@4"
            )
        subprocess.run(
            ["npm", "install", "--prefix", str(AXE.parents[2]), "axe-core@4"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE.read_text(encoding="utf-8")


def hp(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HYPERPLAN_AUTHOR": "ops"}
    done = subprocess.run(
        [sys.executable, "-m", "hyperplan.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def site(tmp_path: Path, db_url: str):
    """Server, worker, tokens and imported bills with one take-or-pay contract, on each backend
    (SQLite file, throw-away PostgreSQL database)."""
    pytest.importorskip("playwright")
    url = db_url
    tokens = {
        role: hp("token", "create", "--user", user, "--workspace", WS, "--role", role,
                 "--db", url, cwd=tmp_path)
        for user, role in (("ann", "planner"), ("bob", "approver"), ("vic", "viewer"))
    }  # fmt: skip
    bill = tmp_path / "bill.csv"
    bill.write_text(HEADER + BILLS)
    hp("actuals", "import", str(bill), "--db", url, "--workspace", WS, cwd=tmp_path)
    ledger = open_ledger(url)
    try:
        with ledger.transaction() as s:
            ws = s.scalar(select(Workspace).where(Workspace.name == WS))
            s.add(
                Contract(
                    workspace_id=ws.id, name="aws-edp", provider="aws", committed_usd=1000.0,
                    start=dt.date(2027, 1, 1), end=dt.date(2028, 1, 1), discount=0.0,
                    created_at=utcnow(),
                )
            )  # fmt: skip
    finally:
        ledger.dispose()
    server = Server(tmp_path, "--db", url)
    worker = start_worker(url, "--poll", "0.2")
    try:
        yield server.base, tokens
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
        _code, log = server.stop()
        for token in tokens.values():
            assert token not in log


def nav(page, name: str):
    """A link of the console's navigation bar."""
    return page.get_by_role("navigation", name="Console").get_by_role("link", name=name)


class Browser:
    """One Playwright browser; a context per user; console errors and axe results kept."""

    def __init__(self, pw, base: str, shots: Path | None) -> None:
        self.browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        self.base = base
        self.shots = shots
        self.errors: list[str] = []
        self.axe = axe_source()
        self.checked: dict[str, list[str]] = {}

    def user(self, token: str):
        ctx = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(f"{self.base}/console/")
        assert page.url.endswith("/console/signin")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/team-a/portfolio$"))
        return page

    def check(self, page, name: str) -> None:
        """axe-core at both widths (serious and critical count), and the screenshots."""
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(150)
            page.evaluate(self.axe)
            result = page.evaluate(
                "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
                " return r.violations.map(v => ({id: v.id, impact: v.impact,"
                " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})); }"
            )
            bad = [v for v in result if v["impact"] in ("serious", "critical")]
            self.checked[f"{name}@{width}"] = [v["id"] for v in bad]
            assert not bad, (name, width, bad)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width + 1, (name, width, wide)  # nothing spills sideways
            if self.shots is not None:
                page.screenshot(path=str(self.shots / f"{name}-{width}.png"))
        page.set_viewport_size({"width": 1280, "height": 900})


def test_console_end_to_end(site) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, tokens = site
    shots = os.environ.get("HYPERPLAN_CONSOLE_SHOTS")
    shot_dir = Path(shots) if shots else None
    if shot_dir is not None:
        shot_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = Browser(pw, base, shot_dir)
        try:
            # --- the planner: a located error, fixed, a plan run followed live
            ann = b.user(tokens["planner"])
            b.check(ann, "portfolio-empty")
            nav(ann, "Scenarios and runs").click()
            text = SMALL.read_text()
            bad = text.replace("periods: 8", "periods: lots")
            upload = ann.get_by_label("Upload a scenario.yaml")
            upload.set_input_files(
                files=[{"name": "mine.yaml", "mimeType": "text/yaml", "buffer": bad.encode()}]
            )
            expect(ann.get_by_label("File name")).to_have_value("mine.yaml")
            expect(ann.get_by_label("Scenario YAML")).to_have_value(bad)
            ann.get_by_role("button", name="Validate").click()
            line = next(i for i, s in enumerate(text.splitlines(), 1) if "periods: 8" in s)
            problems = ann.locator("#problems")
            expect(problems).to_contain_text(f"mine.yaml:{line}:")
            expect(problems).to_contain_text("horizon.periods")
            expect(ann.locator(f"#line-{line}.bad-line mark")).to_contain_text("periods: lots")
            b.check(ann, "runs-error")
            ann.locator(f'a[data-line="{line}"]').click()  # caret to the line, in the editor
            selected = ann.get_by_label("Scenario YAML").evaluate(
                "a => a.value.slice(a.selectionStart, a.selectionEnd)"
            )
            assert "periods: lots" in selected
            # the key under the caret, explained from the JSON Schema (the Field's own words)
            from hyperplan.scenario.jsonschema import scenario_json_schema

            spec = scenario_json_schema()["$defs"]["Horizon"]["properties"]["periods"]
            ann.get_by_label("Scenario YAML").press("End")
            expect(ann.locator("#field-hint")).to_have_text(
                f"Horizon.periods: {spec['description']} [{spec['x-unit']}]; "
                f"e.g. {spec['examples'][0]}"
            )
            ann.get_by_label("Scenario YAML").fill(text)
            ann.get_by_role("button", name="Run plan").click()
            ann.wait_for_url(re.compile(r"/runs/\d+\?"))
            job = int(re.search(r"/runs/(\d+)", ann.url).group(1))
            seen = set()
            for _ in range(600):  # watch the phase change without reloading (console.js)
                seen.add(ann.locator("#job-phase").text_content())
                if ann.locator("#job-state").text_content() == "succeeded":
                    break
                ann.wait_for_timeout(100)
            expect(ann.locator("#job-state")).to_have_text("succeeded", timeout=60_000)
            assert len(seen - {"succeeded"}) >= 1, seen
            b.check(ann, "run")
            with ann.expect_navigation():
                ann.get_by_role("link", name="Open the interactive report").click()
            expect(ann.locator("h1")).to_contain_text("small")
            ann.locator(".js-plotly-plot").nth(3).wait_for()  # charts drawn under the report's CSP
            ann.go_back()
            ann.get_by_label("Note for the approver").fill("Q1 buy")
            ann.get_by_role("button", name="Request adoption").click()
            ann.wait_for_url(re.compile(r"/adoptions/\d+"))
            run_url = ann.url.split("?")[0]
            expect(ann.locator("#approver-only")).to_be_visible()
            assert ann.locator("#approve").count() == 0

            # --- the viewer: no button, and a forged POST is refused
            vic = b.user(tokens["viewer"])
            vic.goto(run_url)
            expect(vic.locator("#diff-summary")).to_contain_text("new")
            assert vic.locator("#approve").count() == 0 and vic.locator("#reject").count() == 0
            csrf = vic.locator('input[name="csrf"]').first.get_attribute("value")
            r = vic.request.post(
                f"{run_url}/approve",
                form={"csrf": csrf, "expect_version": "0"},
                headers={"Origin": base},
            )
            assert r.status == 403

            # --- the approver (another user) approves; the ledger and the audit show it
            bob = b.user(tokens["approver"])
            nav(bob, "Adoption").click()
            b.check(bob, "adoptions-pending")
            bob.get_by_role("link", name=re.compile(r"Plan run \d+")).click()
            expect(bob.locator("#request-state")).to_contain_text("Q1 buy")
            b.check(bob, "adoption")
            bob.get_by_role("button", name="Approve and adopt").click()
            bob.wait_for_url(re.compile(r"/ledger\?"))
            expect(bob.locator(".flash")).to_contain_text("adopted")
            expect(bob.locator("#ledger-version")).to_have_text("1")
            assert bob.locator("#commitments tbody tr").count() > 0
            row = bob.locator('#audit tr[data-action="approve_adoption"]')
            expect(row).to_contain_text("bob")
            b.check(bob, "ledger")
            nav(bob, "Adoption").click()
            expect(bob.locator('#history tr[data-action="approve_adoption"]')).to_contain_text(
                "bob"
            )
            expect(bob.locator('#history tr[data-action="request_adoption"]')).to_contain_text(
                "ann"
            )
            nav(bob, "Portfolio").click()
            expect(bob.locator("#risks li").first).to_be_visible()
            bob.locator(".plot .main-svg").first.wait_for()
            b.check(bob, "portfolio")
            nav(bob, "Contracts").click()
            expect(bob.locator("[data-rise-by]")).to_have_text(re.compile(r"^2027-\d\d-\d\d$"))
            b.check(bob, "contracts")

            # keyboard: the skip link is the first stop and lands on the main content
            bob.keyboard.press("Tab")
            assert bob.evaluate("document.activeElement.textContent") == "Skip to content"
            assert job >= 1
        finally:
            b.browser.close()
    assert b.errors == [], b.errors
    assert all(v == [] for v in b.checked.values())
    assert len(b.checked) == 2 * 8
