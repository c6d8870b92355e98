"""Parse JSON and YAML documents strictly: a duplicate key, a runaway nesting or size, or a number no parser
can take is refused with one line, never guessed at.

The standard parsers keep the last of two equal keys without a word, so a
targets file or a webhook body that says `auth` twice would run with whichever
came last: we refuse it and name the key and its line. Deep nesting makes both
parsers recurse until Python gives up with a `RecursionError` (a 500 or a
traceback); no document we accept is deeper than `MAX_DEPTH`, so anything
deeper is refused with one line instead.

YAML aliases repeat what they name, so ten levels of ten aliases in under a
kilobyte stand for ten billion values: the size a document expands to is
counted on the composed node graph (each node once, before anything is built
or walked) and held to `MAX_NODES`; an alias inside what it names is refused.
The pure-Python parser takes about 50 us a value, so values are also counted
as they are composed: a file of a million short lines stops within a second.
Numbers are held to `MAX_NUMBER_DIGITS` characters before Python converts them
(past about 4,300 digits its int conversion raises, and a huge int breaks
every later `str` or JSON encoding), and a JSON number must be finite: JSON
has no infinity, and `1e999` would otherwise read as one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from json.decoder import JSONObject  # type: ignore[attr-defined]  # the stdlib's documented-by-use object parser
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from typing import Any

import yaml

MAX_DEPTH = 32  # far beyond any real target (about 6 levels) or request body (about 4)
MAX_NODES = 20_000  # values in a YAML document, aliases expanded: a target has about 15, a real file a few hundred
MAX_NUMBER_DIGITS = 100  # characters of one number: far past any count, id or duration, far below int's limit


class DocumentError(ValueError):
    """A document that is not valid, or valid but ambiguous (duplicate keys) or nested too deeply."""


def load_json(text: str) -> Any:
    """`json.loads`, except that a duplicate key or nesting deeper than `MAX_DEPTH` is a `DocumentError`.

    The C parser does the work; only a document found to repeat a key is parsed again by the (about 25 times
    slower) pure-Python scanner, which can tell on which line the repeat is.
    """
    numbers: dict[str, Any] = {"parse_int": _json_int, "parse_float": _json_float, "parse_constant": _json_constant}
    try:
        return _parsed(
            lambda: json.loads(text, object_pairs_hook=_unique_or_raise, **numbers), json.JSONDecodeError, "JSON"
        )
    except _RepeatedKey:
        decoder = json.JSONDecoder(**numbers)
        decoder.parse_object = _unique_keys_object  # type: ignore[attr-defined]
        decoder.scan_once = py_make_scanner(decoder)  # type: ignore[attr-defined]  # the C scanner skips parse_object
        return _parsed(lambda: decoder.decode(text), json.JSONDecodeError, "JSON")


class _RepeatedKey(Exception):
    """Some object repeats a key: worth a slower parse that finds where."""


def _unique_or_raise(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _RepeatedKey
    return found


def _json_int(digits: str) -> int:
    return int(_short_number(digits))


def _json_float(digits: str) -> float:
    value = float(_short_number(digits))
    if not math.isfinite(value):
        raise DocumentError(f"not valid JSON: {digits[:40]} is not a finite number")
    return value


def _json_constant(name: str) -> float:
    raise DocumentError(f"not valid JSON: {name} is not a finite number")


def _short_number(digits: str, where: str = "") -> str:
    if len(digits) > MAX_NUMBER_DIGITS:
        raise DocumentError(f"{where}a number of {len(digits):,} digits; at most {MAX_NUMBER_DIGITS} are accepted")
    return digits


def load_yaml(text: str, *, max_aliases: int | None = None) -> Any:
    """`yaml.safe_load`, except that a duplicate key or nesting deeper than `MAX_DEPTH` is a `DocumentError`,
    and so is a document with more than `max_aliases` aliases (`*name`) when that is given (connector specs)."""

    def parse() -> Any:
        loader = _UniqueKeyLoader(text)
        loader.max_aliases = max_aliases
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()

    return _parsed(parse, yaml.YAMLError, "YAML")


def _parsed(parse: Callable[[], Any], invalid: type[Exception], kind: str) -> Any:
    try:
        document = parse()
    except DocumentError:
        raise
    except invalid as exc:
        raise DocumentError(f"not valid {kind}: {_one_line(exc)}") from None
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, OverflowError) as exc:  # a conversion the bounds above did not foresee: still one line
        raise DocumentError(f"not valid {kind}: {_one_line(exc)}") from None
    return _bounded(document)


def depth(document: Any) -> int:
    """Nesting depth of a parsed document (a scalar is 0), computed without recursion."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _bounded(document: Any) -> Any:
    if depth(document) > MAX_DEPTH:
        raise _too_deep()
    return document


def _too_deep() -> DocumentError:
    return DocumentError(f"nested more than {MAX_DEPTH} levels deep")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _unique_keys_object(
    s_and_end: tuple[str, int],
    strict: bool,
    scan_once: Callable[[str, int], tuple[Any, int]],
    object_hook: Any,
    object_pairs_hook: Any,
    memo: dict[str, str] | None = None,
) -> tuple[dict[str, Any], int]:
    """The stdlib object parser, watching where each value starts so that a repeated key can be placed."""
    text = s_and_end[0]
    starts: list[int] = []

    def scan_recording(string: str, index: int) -> tuple[Any, int]:
        starts.append(index)
        return scan_once(string, index)

    pairs, end = JSONObject(s_and_end, strict, scan_recording, None, list, memo)
    seen: set[str] = set()
    for (key, _), start in zip(pairs, starts, strict=True):
        if key in seen:
            raise DocumentError(f"duplicate key {key!r} at line {_line(text, start)}")
        seen.add(key)
    return dict(pairs), end


def _expansion_checked(root: yaml.Node) -> None:
    """Refuse a node graph that expands past `MAX_NODES` values, or holds an alias inside what it names.

    Each distinct node is visited once (depth first, without recursion) and its expanded size memoised, so the
    cost is that of the text, however much the aliases multiply it.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise DocumentError(
                    f"line {node.start_mark.line + 1}: more than {MAX_NODES:,} values once aliases (* and <<) "
                    "are expanded"
                )
        elif key in open_nodes:
            raise DocumentError(f"line {node.start_mark.line + 1}: an alias refers to itself or a collection it is in")
        elif key not in sizes:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key that a mapping already has (merge keys `<<` still override, as meant),
    a document of more than `MAX_NODES` values (aliases expanded), and a number longer than `MAX_NUMBER_DIGITS`."""

    nodes_composed = 0
    aliases_composed = 0
    max_aliases: int | None = None

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Count as the parser goes, so a file of a million plain values stops at the budget, not after it."""
        self.nodes_composed += 1
        if self.nodes_composed > MAX_NODES:
            line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]  # untyped in the stubs
            raise DocumentError(f"line {line}: more than {MAX_NODES:,} values")
        if self.max_aliases is not None and self.check_event(yaml.AliasEvent):
            self.aliases_composed += 1
            if self.aliases_composed > self.max_aliases:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]  # untyped in the stubs
                raise DocumentError(f"line {line}: more than {self.max_aliases} YAML aliases")
        return super().compose_node(parent, index)

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            _expansion_checked(node)
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        _short_number(str(node.value), f"line {node.start_mark.line + 1}: ")
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        _short_number(str(node.value), f"line {node.start_mark.line + 1}: ")
        return super().construct_yaml_float(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base constructor explains it
                break
            if duplicate:
                raise DocumentError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", _UniqueKeyLoader.construct_yaml_float)
