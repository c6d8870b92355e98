"""The lock file is what `make setup` and CI install, what Azure installs is the lock's, and neither can drift
from the declared ranges.

`requirements.in` (what the app needs at run time) and `requirements-dev.txt` declare compatible ranges;
`requirements.lock` (written by `make lock`, pip-tools) pins every package of their closure exactly, and
`requirements.txt`, the file Azure installs, pins exactly the lock's versions of the run-time closure: what was
tested is what is deployed.
These tests read the three files with `packaging`, the library pip itself uses for the same job, and walk the
installed distributions' own metadata for the closure.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"
RUNTIME = REPO / "requirements.in"
DEPLOYED = REPO / "requirements.txt"  # what Azure's build installs
DECLARED = (RUNTIME, REPO / "requirements-dev.txt")
EXACT_SDK = "azure-functions-durable==1.7.0"  # the local runner's conformance suite is verified against it


def requirement_lines(path: Path) -> list[str]:
    """Requirement lines of a requirements file: no comments, no blank lines, no `-r`/`-c` includes."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def declared(path: Path) -> list[Requirement]:
    return [Requirement(line) for line in requirement_lines(path)]


def parse_lock(text: str) -> dict[str, Version]:
    """Name to exact version; anything but `name==version` (a range, a URL, an option) is refused."""
    pins: dict[str, Version] = {}
    for line in (line.split("#", 1)[0].strip() for line in text.splitlines()):
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)", line)
        if not match:
            raise ValueError(f"not an exact pin: {line!r}")
        name = canonicalize_name(match.group(1))
        if name in pins:
            raise ValueError(f"{name} is pinned twice")
        pins[name] = Version(match.group(2))
    return pins


@cache
def locked() -> dict[str, Version]:
    return parse_lock(LOCK.read_text())


def test_every_declared_package_is_locked_inside_its_declared_range() -> None:
    outside: dict[str, str] = {}
    for path in DECLARED:
        for requirement in declared(path):
            version = locked().get(canonicalize_name(requirement.name))
            if version is None or not requirement.specifier.contains(version, prereleases=True):
                outside[requirement.name] = f"{version} not in {requirement.specifier} ({path.name})"
    assert outside == {}


def test_the_durable_sdk_is_pinned_exactly_where_azure_installs_it() -> None:
    assert EXACT_SDK in requirement_lines(RUNTIME)
    assert EXACT_SDK in requirement_lines(DEPLOYED)
    assert locked()[canonicalize_name("azure-functions-durable")] == Version(EXACT_SDK.split("==")[1])


def test_azure_installs_exact_versions_only() -> None:
    parse_lock(DEPLOYED.read_text())  # raises on any range, URL or option


def test_azure_installs_the_locked_version_of_every_run_time_package_and_nothing_else() -> None:
    deployed = parse_lock(DEPLOYED.read_text())
    assert {name: version for name, version in deployed.items() if locked().get(name) != version} == {}
    needed = closure(declared(RUNTIME))
    assert needed - set(deployed) == set(), "requirements.txt misses run-time dependencies: run `make lock`"
    assert set(deployed) - needed == set(), "requirements.txt pins packages the app does not need: run `make lock`"


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution the roots need, from the installed distributions' metadata, extras and markers applied."""
    seen: set[tuple[str, str]] = set()
    pending = [(requirement, "") for requirement in roots]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            pending.extend((Requirement(line), wanted) for line in metadata.requires(name) or [])
    return {name for name, _ in seen}


def test_the_lock_holds_every_dependency_of_the_declared_packages_and_nothing_else() -> None:
    needed = closure([requirement for path in DECLARED for requirement in declared(path)])
    assert needed - set(locked()) == set(), "the lock misses dependencies: run `make lock`"
    assert set(locked()) - needed == set(), "the lock pins packages nothing needs: run `make lock`"


def test_the_installed_environment_is_the_locked_one() -> None:
    installed = {canonicalize_name(name): metadata.version(name) for name in locked()}
    assert {name: v for name, v in installed.items() if Version(v) != locked()[name]} == {}


@pytest.mark.parametrize(
    "line",
    ["httpx>=0.28", "httpx", "git+https://example.invalid/x.git", "-e .", "httpx==0.28.1 ; extra == 'x'"],
)
def test_a_lock_line_that_is_not_an_exact_pin_is_refused(line: str) -> None:
    with pytest.raises(ValueError, match="not an exact pin"):
        parse_lock(f"anyio==4.16.0\n{line}\n")


def test_setup_installs_the_lock_and_nothing_unpinned() -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "--always-make", "--no-print-directory", ".venv/.installed"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in dry_run.splitlines() if re.search(r"\bpip install\b", line)]
    assert installs, dry_run
    for line in installs:
        assert "--no-deps" in line, line
        assert re.findall(r"(?:-r|--requirement)\s+(\S+)", line) == ["requirements.lock"], line
    assert re.search(r"\bpip check\b", dry_run), "set-up fails when the lock misses a dependency"
