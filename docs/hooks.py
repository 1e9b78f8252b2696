"""MkDocs hooks: the scenario reference and the JSON Schema, generated from the models at build time.

- ``reference/scenario.md`` is rendered by
  :func:`hyperplan.scenario.jsonschema.scenario_reference_markdown` and ``scenario.schema.json``
  by :func:`hyperplan.scenario.jsonschema.schema_text`; neither exists in ``docs/``, so neither
  can be edited by hand or drift from the pydantic models.
- The navigation in ``mkdocs.yml`` is kept buildable while pages come and go: a listed page
  that does not exist is dropped, a page in ``docs/`` that is not listed is added under "More".
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.hyperplan")

REFERENCE_PAGE = "reference/scenario.md"
GENERATED = (REFERENCE_PAGE, "scenario.schema.json")


def _nav_pages(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    if isinstance(nav, list):
        return [p for item in nav for p in _nav_pages(item)]
    return []


def _prune(nav: Any, exists: Any) -> Any:
    """``nav`` without the pages for which ``exists(page)`` is false (and emptied sections)."""
    if isinstance(nav, str):
        return nav if exists(nav) else None
    if isinstance(nav, dict):
        out = {}
        for key, value in nav.items():
            kept = _prune(value, exists)
            if kept not in (None, []):
                out[key] = kept
        return out or None
    if isinstance(nav, list):
        kept = [_prune(item, exists) for item in nav]
        return [item for item in kept if item not in (None, [], {})]
    return nav


def on_config(config: Any) -> Any:
    nav = config.get("nav")
    if not nav:
        return config
    docs = Path(config["docs_dir"])

    def exists(page: str) -> bool:
        if page.startswith(("http://", "https://")) or page in GENERATED:
            return True
        if not (docs / page).is_file():
            log.info("nav: %s is not in docs/ (yet); left out", page)
            return False
        return True

    nav = _prune(nav, exists)
    listed = set(_nav_pages(nav))
    extra = sorted(
        p.relative_to(docs).as_posix()
        for p in docs.rglob("*.md")
        if p.relative_to(docs).as_posix() not in listed
    )
    if extra:
        log.info("nav: pages not listed in mkdocs.yml, added under More: %s", ", ".join(extra))
        nav.append({"More": extra})
    config["nav"] = nav
    return config


def on_files(files: Files, config: Any) -> Files:
    from hyperplan.scenario.jsonschema import scenario_reference_markdown, schema_text

    for uri in GENERATED:
        existing = files.get_file_from_path(uri)
        if existing is not None:  # a hand-written copy would be written twice: the generated wins
            log.warning("docs/%s is generated at build time; remove the file from docs/", uri)
            files.remove(existing)
    files.append(File.generated(config, REFERENCE_PAGE, content=scenario_reference_markdown()))
    files.append(File.generated(config, "scenario.schema.json", content=schema_text()))
    return files
