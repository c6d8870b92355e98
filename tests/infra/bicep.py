"""The Bicep files as parsed trees, and the few questions tests/infra asks of them.

No Bicep compiler runs on these machines; pycep-parser reads the Bicep grammar into JSON-like trees, which
makes a syntax error fail here and lets the consistency checks read names, values and wiring from the tree
instead of from the text. Two limits of the parser shape the Bicep and this module:

- It rejects filtered loops (`[for x in xs: if (c) {...}]`), valid Bicep: infra/ filters the list instead.
- Its tree writes an identifier and a string literal alike (`name` and `'name'` are both "name"); a string
  that names a declared param or var is therefore read as a reference to it (`resolve`, `references`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"
MODULES = INFRA / "modules"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CHAIN = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")

Node = Any  # a value of the parsed tree: str, int, bool, None, list or dict, as pycep returns it


@cache
def parser() -> BicepParser:
    return BicepParser(cache=False)  # no grammar cache written outside the repository


@cache
def parsed(path: Path) -> dict[str, Node]:
    """The whole tree of a Bicep file: `parameters`, `variables`, `resources`, `modules`, `outputs`, ..."""
    return dict(parser().parse(file_path=path))


def section(path: Path, name: str) -> dict[str, Node]:
    found: dict[str, Node] = parsed(path).get(name) or {}
    return found


def params(path: Path) -> dict[str, Node]:
    return section(path, "parameters")


def variable(path: Path, name: str) -> Node:
    return section(path, "variables")[name]["value"]


def decorators(path: Path, param: str) -> dict[str, Node]:
    """A param's decorators, kind to argument (`min_value`, `max_length`, `secure`, ...)."""
    return {decorator["type"]: decorator.get("argument") for decorator in params(path)[param]["decorators"]}


def required_params(path: Path) -> set[str]:
    return {name for name, param in params(path).items() if param["default"] is None}


def modules(path: Path = MAIN) -> dict[str, Path]:
    """Symbolic name of each local module a file calls, with its file."""
    return {
        name: (path.parent / module["detail"]["path"]).resolve()
        for name, module in section(path, "modules").items()
        if module["type"] == "local"
    }


def module_params(name: str, path: Path = MAIN) -> dict[str, Node]:
    passed: dict[str, Node] = section(path, "modules")[name]["config"]["params"]
    return passed


def resource(path: Path, name: str) -> dict[str, Node]:
    """A resource's body (the loop's body for a resource loop, the body for a conditional resource)."""
    config: dict[str, Node] = section(path, "resources")[name]["config"]
    return config["config"] if "loop_type" in config or "condition" in config else config


def at(node: Node, *keys: str) -> Node:
    """The value under nested object keys (`at(app, "properties", "siteConfig")`)."""
    for key in keys:
        node = node[key]
    return node


def accessor(chain: str) -> Node:
    """The tree pycep makes of a property access `a.b.c`, to compare a value with."""
    first, _, rest = chain.partition(".")
    if not rest:
        return first
    return {"operator": {"type": "property_accessor", "operands": {"operand_1": first, "operand_2": accessor(rest)}}}


def chains(node: Node) -> Iterator[str]:
    """Every identifier or dotted access (`storage.outputs.name`) an expression mentions, interpolations included.

    Object keys are names, not references, and the members of an access are not identifiers of the file.
    """
    if isinstance(node, str):
        if IDENTIFIER.fullmatch(node):
            yield node
        for interpolated in INTERPOLATION.findall(node):
            yield from CHAIN.findall(interpolated)
    elif isinstance(node, list):
        for item in node:
            yield from chains(item)
    elif isinstance(node, dict):
        operator = node.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor":
            head = operator["operands"]["operand_1"]
            yield from [dotted(node)] if isinstance(head, str) else chains(head)  # `f(x).y` uses what f(x) uses
            return
        for value in node.values():
            yield from chains(value)


def dotted(node: Node) -> str:
    """`a.b.c` from pycep's nested property accessors."""
    if isinstance(node, str):
        return node
    operands = node["operator"]["operands"]
    return f"{operands['operand_1']}.{dotted(operands['operand_2'])}"


def references(path: Path) -> set[str]:
    """Names of params, vars, resources and modules the file's declarations mention (declarations excluded)."""
    tree = parsed(path)
    uses: set[str] = set()
    for kind in ("parameters", "variables", "resources", "modules", "outputs"):
        for declaration in (tree.get(kind) or {}).values():
            body = {key: value for key, value in declaration.items() if key != "decorators"}
            uses.update(chain.split(".")[0] for chain in chains(body))
    return uses


def resolve(path: Path, node: Node) -> str | None:
    """What an expression evaluates to by default when the tree tells: a literal, a param's default or a var's
    value (followed), or `string(...)` of one of them. None when it depends on a deployment."""
    if isinstance(node, bool):
        return str(node).lower()
    if isinstance(node, int):
        return str(node)
    if isinstance(node, str):
        if "${" in node:
            return None
        if node in params(path):
            return resolve(path, params(path)[node]["default"])
        if node in section(path, "variables"):
            return resolve(path, variable(path, node))
        return node
    if isinstance(node, dict) and node.get("function", {}).get("type") == "string":
        return resolve(path, node["function"]["parameters"]["value_to_convert"])
    return None
