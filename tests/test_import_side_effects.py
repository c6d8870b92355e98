"""Importing a module changes no process-wide state: only the two entry points configure the process.

Process-wide state here: logging (levels, handlers), os.environ, warnings filters, the socket timeout, threads,
exit hooks, and the attributes of the libraries already imported (a module that patches httpcore at import
changes every HTTP client of the process).

Why: the Functions host, the CLI, the tests and the benchmarks all import the same modules, and each wants its
own logging, environment and clients. A module that sets a logger's level, adds a handler, writes os.environ or
opens a client at import decides that for all of them, in whatever order imports happen to run. So the entry
points (`function_app.py` for the host, `local/__main__.py` and `local/cli.py` for the CLI) call what configures the
process; every other module only defines.

The check runs in a fresh interpreter: it first imports every third-party module the project imports (their own
import effects are not ours to judge), takes a snapshot of the process-wide state, imports each project module
in turn, and names the module after whose import the snapshot changed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.test_import_graph import ROOT, project_modules

ENTRY_POINTS = {"function_app", "local.__main__", "local.cli"}
NOT_IMPORTED = ("tests", "benchmarks")  # scripts and the suite itself: they are entry points of their own


def third_party_imports(modules: dict[str, Path]) -> list[str]:
    """The top-level names of every non-project module imported at module level anywhere in the project."""
    tops = {name.split(".")[0] for name in modules}
    found: set[str] = set()
    for path in modules.values():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found.update(n for n in names if n.split(".")[0] not in tops and n != "__future__")
    return sorted(found)


PROBE = r"""
import atexit, importlib, json, logging, os, socket, sys, threading, warnings

def library_attributes(names):
    # id of every attribute of the given (library) modules and of the classes they define: a patch changes one
    seen = {}
    for name in names:
        module = sys.modules.get(name)
        for attr, value in list(vars(module).items()) if module is not None else []:
            seen[f"{name}.{attr}"] = id(value)
            if isinstance(value, type) and value.__module__ == name:
                for key, member in list(vars(value).items()):
                    seen[f"{name}.{attr}.{key}"] = id(member)
    return seen

def snapshot():
    loggers = {"": logging.getLogger()}
    loggers.update({n: l for n, l in logging.root.manager.loggerDict.items() if isinstance(l, logging.Logger)})
    configured = {
        name: [logger.level, [type(h).__name__ for h in logger.handlers], logger.propagate, logger.disabled]
        for name, logger in loggers.items()
        if name == "" or logger.level or logger.handlers or not logger.propagate or logger.disabled
    }
    return {
        "loggers": configured,
        "logging.disable": logging.root.manager.disable,
        "environ": dict(os.environ),
        "warnings": [repr(f) for f in warnings.filters],
        "socket timeout": socket.getdefaulttimeout(),
        "threads": sorted(t.name for t in threading.enumerate()),
        "recursion limit": sys.getrecursionlimit(),
        "exit hooks": atexit._ncallbacks(),
        "library attributes": library_attributes(libraries),
    }

third_party, project = json.loads(sys.argv[1])
for name in third_party:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
libraries = sorted(name for name in sys.modules if not name.startswith("__"))
changed = {}
before = snapshot()
for name in project:
    importlib.import_module(name)
    after = snapshot()
    old, new = before.pop("library attributes"), after.pop("library attributes")
    patched = sorted(k for k in old if k in new and old[k] != new[k])  # lazy imports only add attributes
    if after != before or patched:
        changed[name] = sorted(key for key in after if after[key] != before[key]) + patched[:5]
    before = {**after, "library attributes": new}
print(json.dumps(changed))
"""


def imported_modules() -> tuple[list[str], list[str]]:
    modules = project_modules(ROOT)
    project = sorted(
        name for name in modules if name not in ENTRY_POINTS and not name.startswith(NOT_IMPORTED) and name
    )
    return third_party_imports(modules), project


def changes_on_import(third_party: list[str], project: list[str]) -> dict[str, list[str]]:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([third_party, project])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    changed: dict[str, list[str]] = json.loads(probe.stdout.strip().splitlines()[-1])
    return changed


def test_the_probe_notices_a_module_that_sets_a_logger_level(tmp_path: Path) -> None:
    (tmp_path / "noisy_module_for_probe.py").write_text('import logging\nlogging.getLogger("x").setLevel(30)\n')
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{PROBE}",
            '[[], ["noisy_module_for_probe"]]',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(probe.stdout) == {"noisy_module_for_probe": ["loggers"]}


def test_no_module_but_the_entry_points_changes_logging_environment_or_threads_when_imported() -> None:
    third_party, project = imported_modules()
    assert "activities.export_activities" in project
    assert changes_on_import(third_party, project) == {}


def test_both_entry_points_keep_the_url_logging_loggers_quiet() -> None:
    script = (
        "import logging, sys\n"
        "import function_app\n"
        "assert logging.getLogger('httpx').level == logging.WARNING, 'function_app'\n"
        "logging.getLogger('httpx').setLevel(logging.NOTSET)\n"
        "import local.__main__ as cli\n"
        "assert cli.main(['no-such-command']) == 2\n"
        "assert logging.getLogger('httpx').level == logging.WARNING, 'python -m local'\n"
    )
    probe = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
