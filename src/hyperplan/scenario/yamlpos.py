"""Safe YAML reading that remembers where every value came from.

:func:`parse_yaml` composes the document with PyYAML's safe loader into a node tree, then builds
the plain Python data (dicts, lists, scalars) together with :class:`Positions`: a map from field
paths such as ``("workloads", 2, "demand_tokens_per_s")`` to the 1-based ``(line, column)`` of
the value, plus the position of each mapping key.

Hostile or broken input becomes an :class:`~hyperplan.errors.InputError` with located problems:
files over :data:`MAX_BYTES`, bytes that are not UTF-8, syntax errors and tabs, several documents,
duplicate keys, non-standard tags (``!!python/object``), and alias bombs (more than
:data:`MAX_ALIASES` aliases, more than :data:`MAX_NODES` nodes, or more than :data:`MAX_VALUES`
values once aliases are expanded).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from hyperplan.errors import InputError, Problem

MAX_BYTES = 5 * 1024 * 1024
"""Largest scenario file read, bytes."""
MAX_ALIASES = 100
"""Most alias nodes (``*name``) in one document."""
MAX_NODES = 200_000
"""Most nodes in a composed document."""
MAX_VALUES = 100_000
"""Most values in a document's data, counted after alias expansion."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""

PathKey = tuple[str | int, ...]
"""A field path: mapping keys (str) and list indexes (int)."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class Positions(dict[PathKey, tuple[int, int]]):
    """Field path -> 1-based ``(line, column)`` of its value; ``key_at`` holds mapping keys' places.

    Attributes:
        file: the file name used in problems.
        key_at: field path -> ``(line, column)`` of the key that introduces it.
    """

    def __init__(self, file: str = "<input>") -> None:
        super().__init__()
        self.file = file
        self.key_at: dict[PathKey, tuple[int, int]] = {}

    def locate(self, path: PathKey, *, key: bool = False) -> tuple[int | None, int | None]:
        """Position of ``path``, or of its nearest existing parent (the parent's key if any).

        Args:
            path: the field path.
            key: prefer the position of the key over that of the value (unknown fields).
        """
        if key and path in self.key_at:
            return self.key_at[path]
        if path in self:
            return self[path]
        for i in range(len(path) - 1, -1, -1):
            parent = path[:i]
            if parent in self.key_at:
                return self.key_at[parent]
            if parent in self:
                return self[parent]
        return None, None

    def problem(self, path: PathKey, message: str, *, key: bool = False) -> Problem:
        """A :class:`Problem` located at ``path`` (see :meth:`locate`)."""
        line, column = self.locate(path, key=key)
        return Problem(message, file=self.file, line=line, column=column, path=render_path(path))


def render_path(path: PathKey) -> str:
    """Render a field path the way a user reads it: ``workloads[2].demand.growth_per_year``."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        elif _PLAIN_KEY.match(item):
            out += f".{item}" if out else item
        else:
            out += f"[{item!r}]"
    return out


class _Refused(Exception):
    """A document refused while composing (too many aliases or nodes)."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.mark = mark


class _Counting:
    """Composer mix-in that counts alias and other nodes and the depth, and stops at the limits."""

    aliases = 0
    nodes = 0
    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(
                    f"more than {MAX_ALIASES} YAML aliases (*name); refusing the document",
                    event.start_mark,
                )
        else:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise _Refused(
                    f"more than {MAX_NODES} values; refusing the document", event.start_mark
                )
        # the composer recurses per level: stop at the limit, located, before Python's
        # recursion limit (a RecursionError has no position and unwinds slowly)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)  # type: ignore[misc,no-any-return]
        finally:
            self.depth -= 1


class _CountingLoader(_Counting, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader with the limits of :class:`_Counting`."""


FAST_CHARACTERS = 64 * 1024
"""Documents longer than this are scanned and parsed by libyaml (when PyYAML has it), 5-10×
faster; composing stays in Python (depth-limited: libyaml's own composer recurses in C and
crashes on deep nesting). Error messages then use libyaml's wording."""

try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _FastCountingLoader(  # type: ignore[misc]
        _Counting, Composer, _CParser, SafeConstructor, Resolver
    ):
        """libyaml's scanner and parser, PyYAML's composer (with the limits) and resolver."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

        def dispose(self) -> None:
            """Nothing to release (libyaml's state goes with the object)."""


def _mark(mark: yaml.Mark | None) -> tuple[int | None, int | None]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def read_yaml_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a file of at most :data:`MAX_BYTES` bytes, refusing larger ones before reading them.

    Raises:
        InputError: the file is missing, unreadable, a directory, or too large.
    """
    name = str(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise InputError([_too_big(name, size)])
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError([Problem("file not found", file=name)]) from None
    except IsADirectoryError:
        raise InputError([Problem("is a directory, not a scenario file", file=name)]) from None
    except OSError as exc:
        raise InputError([Problem(f"cannot read the file: {exc.strerror}", file=name)]) from None
    if len(data) > MAX_BYTES:
        raise InputError([_too_big(name, len(data))])
    return data


def _too_big(name: str, size: int) -> Problem:
    return Problem(
        f"file is too large ({size / 2**20:.1f} MiB); a scenario file may be at most "
        f"{MAX_BYTES // 2**20} MiB",
        file=name,
    )


def decode_yaml_bytes(data: bytes, filename: str = "<input>") -> str:
    """Decode UTF-8 (a BOM is allowed); refuse other encodings and binary files with a location."""
    if len(data) > MAX_BYTES:
        raise InputError([_too_big(filename, len(data))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        message = f"the file is not UTF-8 text (byte 0x{byte} at offset {exc.start})"
        raise InputError([Problem(message, file=filename, line=line, column=column)]) from None


def parse_yaml(text: str, filename: str = "<input>") -> tuple[Any, Positions]:
    """Parse one YAML document into plain data and the positions of its values.

    Args:
        text: the document.
        filename: name used in problems.

    Returns:
        ``(data, positions)``; ``data`` is ``None`` only for a document that is just ``null``.

    Raises:
        InputError: empty or unsafe input, syntax errors, duplicate keys, unsupported tags.
    """
    if len(text) > MAX_BYTES:
        raise InputError([_too_big(filename, len(text.encode("utf-8", "replace")))])
    loader: Any = None
    fast = _CParser is not None and len(text) > FAST_CHARACTERS
    try:
        loader = _FastCountingLoader(text) if fast else _CountingLoader(text)
        root = loader.get_single_node()
    except _Refused as exc:
        line, column = _mark(exc.mark)
        raise InputError([Problem(str(exc), file=filename, line=line, column=column)]) from None
    except ComposerError as exc:
        raise InputError([_yaml_problem(exc, filename, text)]) from None
    except yaml.MarkedYAMLError as exc:
        raise InputError([_yaml_problem(exc, filename, text)]) from None
    except yaml.reader.ReaderError as exc:
        position = exc.position
        if fast:  # libyaml counts UTF-8 bytes
            position = len(
                text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore")
            )
        line, column = _line_col(text, position)
        message = f"the file is not YAML text: character 0x{exc.character:02x} is not allowed"
        problem = Problem(message, file=filename, line=line, column=column)
        raise InputError([problem]) from None
    except RecursionError:
        message = "nesting is too deep to read"
        raise InputError([Problem(message, file=filename)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        message = "the file is empty; expected a scenario (a mapping with horizon: and workloads:)"
        raise InputError([Problem(message, file=filename, line=1, column=1)])
    return _Builder(filename).build(root)


def _yaml_problem(exc: yaml.MarkedYAMLError, filename: str, text: str = "") -> Problem:
    """A YAML syntax or composition error as a Problem at its mark."""
    mark = exc.problem_mark or exc.context_mark
    if isinstance(exc, ComposerError) and "single document" in str(exc.context):
        message = "found a second YAML document (---); a scenario file holds exactly one"
    else:
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "YAML syntax error: " + "; ".join(parts)
        at_tab = mark is not None and text[mark.index : mark.index + 1] == "\t"
        if "\t" in message or "'\\t'" in message or at_tab:
            message += " (tabs are not allowed for indentation; use spaces)"
    line, column = _mark(mark)
    return Problem(message, file=filename, line=line, column=column)


def _unreadable_scalar(node: ScalarNode) -> str:
    """Why a scalar that looks like a date or a number cannot be read (shortened)."""
    text = str(node.value)
    shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"
    if node.tag.endswith(":timestamp"):
        return f"not a valid date: {shown}; expected a date like 2027-07-01"
    if node.tag.endswith(":int"):
        return (
            f"a whole number too long to read ({len(text)} characters); expected a number "
            "within the field's range"
        )
    return f"cannot read the value {shown}"


#: A number in exponent form without a dot (``1e5``, ``-2.5E-3`` has one): YAML 1.2 reads it as a
#: number, PyYAML's YAML 1.1 as text. Unquoted, it is a number here too; quoted, it stays text.
EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
for _loader in (_CountingLoader, *([_FastCountingLoader] if _CParser is not None else [])):
    _loader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


class _Builder:
    """Turns a composed node tree into plain data, recording positions and finding faults."""

    def __init__(self, filename: str) -> None:
        self.positions = Positions(filename)
        self.problems: list[Problem] = []
        self.constructor = SafeConstructor()
        self.count = 0

    def build(self, root: Node) -> tuple[Any, Positions]:
        try:
            data = self._value(root, (), 0)
        except _Refused as exc:
            line, column = _mark(exc.mark)
            file = self.positions.file
            raise InputError([Problem(str(exc), file=file, line=line, column=column)]) from None
        if self.problems:
            raise InputError(sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0)))
        return data, self.positions

    def _fault(self, node: Node, path: PathKey, message: str) -> None:
        line, column = _mark(node.start_mark)
        self.problems.append(Problem(message, self.positions.file, line, column, render_path(path)))

    def _value(self, node: Node, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Refused(
                f"the document expands to more than {MAX_VALUES} values (an alias bomb?); "
                "refusing it",
                node.start_mark,
            )
        if depth > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark)
        self.positions[path] = _mark(node.start_mark)  # type: ignore[assignment]
        if isinstance(node, ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError:
                self._fault(node, path, f"unsupported YAML tag {node.tag!r}")
                return None
            except (ValueError, OverflowError):  # 2027-02-30, a 5,001-digit integer
                self._fault(node, path, _unreadable_scalar(node))
                return None
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                self._fault(node, path, f"unsupported YAML tag {node.tag!r}")
                return None
            return [self._value(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                self._fault(node, path, f"unsupported YAML tag {node.tag!r}")
                return None
            return self._mapping(node, path, depth)
        self._fault(node, path, "unsupported YAML node")  # pragma: no cover
        return None

    def _mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, ScalarNode] = {}
        for key_node, value_node, merged in self._pairs(node, path):
            key = key_node.value
            if key in first:
                if not merged:
                    line = first[key].start_mark.line + 1
                    self._fault(
                        key_node, (*path, key), f"duplicate key {key!r} (first at line {line})"
                    )
                continue
            first[key] = key_node
            self.positions.key_at[(*path, key)] = _mark(key_node.start_mark)  # type: ignore[assignment]
            result[key] = self._value(value_node, (*path, key), depth + 1)
        return result

    def _pairs(
        self,
        node: MappingNode,
        path: PathKey,
        merged: bool = False,
        seen: frozenset[int] = frozenset(),
    ) -> Iterator[tuple[ScalarNode, Node, bool]]:
        """Key/value pairs: the mapping's own first, then those of ``<<`` merge keys."""
        if id(node) in seen:
            self._fault(node, path, "a merge key (<<) refers to the mapping that holds it")
            return
        seen = seen | {id(node)}
        sources: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources.extend(
                    value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                )
            elif isinstance(key_node, ScalarNode):
                yield key_node, value_node, merged
            else:
                self._fault(key_node, path, "a mapping key must be a plain name or value")
        for source in sources:
            if isinstance(source, MappingNode):
                yield from self._pairs(source, path, True, seen)
            else:
                self._fault(source, path, "a merge key (<<) needs a mapping or a list of mappings")
