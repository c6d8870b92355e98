"""Hostile targets files: alias bombs, odd bytes, huge numbers and files that are not files.

Each must end quickly with exit code 2 and one readable line from `python -m local run`, and with a
`TargetsError` from the loader (which the Function App's configured targets use too). The cases that would hang
or eat memory on a loader without bounds run the CLI in a child process with a timeout and an address-space
limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kernel.documents import MAX_NODES
from local.cli import run_main
from targets import TargetsError, load_targets
from targets.loader import MAX_FILE_BYTES
from tests.targets.test_loader import goals
from triggers import configured_targets

REPO = Path(__file__).resolve().parents[2]
CHILD_MEMORY = 2 * 1024**3


def target_yaml() -> str:
    return yaml.safe_dump({"targets": [goals()]})


def alias_bomb() -> str:
    """Ten levels of ten aliases: 10**10 leaves once expanded, under 900 bytes written."""
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]")
    return "\n".join(lines) + "\ntargets: *j\n"


def merge_bomb() -> str:
    """Merge keys that copy a mapping's pairs ten times per level."""
    lines = ["a0: &a0 {k: v}"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} {{<<: [{', '.join([f'*a{level - 1}'] * 10)}]}}")
    return "\n".join(lines) + "\ntargets: [*a9]\n"


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def cli_in_child(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local", "run", "goals", "--targets", str(path)],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limited,
    )


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("error: "), done.stderr[-2000:]
    assert done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert message in done.stderr


def test_the_alias_bomb_is_under_a_kilobyte() -> None:
    assert len(alias_bomb().encode()) < 1024


@pytest.mark.parametrize(("text", "message"), [(alias_bomb(), "once aliases"), (merge_bomb(), "once aliases")])
def test_an_alias_bomb_is_refused_at_once_by_the_cli_and_the_loader(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    began = time.monotonic()
    assert_one_line_exit_2(cli_in_child(path), message)
    began = time.monotonic()
    with pytest.raises(TargetsError, match=f"{MAX_NODES:,}"):
        load_targets(path)
    assert time.monotonic() - began < 1.0


def test_nesting_built_from_aliases_is_held_to_the_same_depth(tmp_path: Path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text("a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 40)) + "targets: *a39\n")
    with pytest.raises(TargetsError, match="nested more than 32 levels deep"):
        load_targets(path)


def test_aliases_within_the_budget_still_work(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "auth: &auth {kind: bearer_env, env: GRAPH_TOKEN}\n"
        + yaml.safe_dump({"targets": [{**goals(), "auth": "AUTH"}]}).replace("auth: AUTH", "auth: *auth")
    )
    assert load_targets(path)["goals"].auth.kind == "bearer_env"


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("targets: &t [*t]\n")
    with pytest.raises(TargetsError, match="refers to itself"):
        load_targets(path)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "targets.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        yield path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "socket"])
def test_only_regular_files_are_read_and_nothing_blocks(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    path: Path = Path("/dev/zero")
    if kind == "directory":
        path = tmp_path
    elif kind in {"fifo", "socket"}:
        path = request.getfixturevalue("fifo" if kind == "fifo" else "unix_socket")
    assert_one_line_exit_2(cli_in_child(path), str(path))
    with pytest.raises(TargetsError, match="cannot read targets file"):
        load_targets(path)


def test_a_file_over_the_size_limit_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(target_yaml() + "#" * MAX_FILE_BYTES)
    with pytest.raises(TargetsError, match=f"larger than {MAX_FILE_BYTES // 1024**2} MiB"):
        load_targets(path)


def test_configured_targets_of_the_function_app_refuse_a_fifo(monkeypatch: pytest.MonkeyPatch, fifo: Path) -> None:
    monkeypatch.setenv("EXPORT_TARGETS_FILE", str(fifo))
    configured_targets.configured_targets.cache_clear()
    try:
        with pytest.raises(TargetsError, match="not a regular file"):
            configured_targets.configured_targets()
    finally:
        configured_targets.configured_targets.cache_clear()


BIG = "9" * 5000
HOSTILE_CONTENT = [
    ("latin1.yaml", b"targets:\n  - name: g\xe9\n", "not UTF-8 text"),
    ("latin1.json", b'{"targets": [{"name": "g\xe9"}]}', "not UTF-8 text"),
    ("utf16.yaml", target_yaml().encode("utf-16"), "UTF-16"),
    ("utf16.json", json.dumps({"targets": [goals()]}).encode("utf-16"), "UTF-16"),
    ("digits.yaml", f"targets: [{{name: goals, poll: {{deadline_s: {BIG}}}}}]\n".encode(), "digits"),
    ("digits.json", f'{{"targets": [{{"name": "goals", "poll": {{"deadline_s": {BIG}}}}}]}}'.encode(), "digits"),
    ("digits-key.yaml", f"targets:\n  - ? {BIG}\n    : 1\n".encode(), "digits"),
    ("hex.yaml", f"targets: [{{name: 0x{'f' * 5000}}}]\n".encode(), "digits"),
    ("long-float.yaml", f"targets: [{{poll: {{deadline_s: {BIG}.5}}}}]\n".encode(), "digits"),
    ("sexagesimal.yaml", ("targets: [{name: " + ":".join(["59"] * 3000) + "}]\n").encode(), "digits"),
    ("huge-float.json", b'{"targets": [{"poll": {"deadline_s": 1e999}}]}', "not a finite number"),
    ("nan.json", b'{"targets": [{"poll": {"deadline_s": NaN}}]}', "not a finite number"),
    ("python-tag.yaml", b"targets: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ("python-name.yaml", b"targets: [!!python/name:os.system x]\n", "not valid YAML"),
]


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE_CONTENT)
def test_bytes_and_numbers_the_parsers_cannot_take_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TargetsError, match=message):
        load_targets(path)
    assert run_main(["goals", "--targets", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}: ")
    assert error.count("\n") == 1
    assert message in error


@pytest.mark.parametrize("name", ["bom.yaml", "bom.json"])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = target_yaml() if name.endswith(".yaml") else json.dumps({"targets": [goals()]})
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert list(load_targets(path)) == ["goals"]


def test_a_file_of_many_short_values_stops_at_the_budget_quickly(tmp_path: Path) -> None:
    path = tmp_path / "lines.yaml"
    path.write_text("targets:\n" + "  - abcdefghij\n" * (MAX_FILE_BYTES // 16))
    began = time.monotonic()
    with pytest.raises(TargetsError, match=rf"lines.yaml: line \d+: more than {MAX_NODES:,} values$"):
        load_targets(path)
    assert time.monotonic() - began < 5.0


def test_a_huge_string_is_bounded_by_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({"targets": [goals(name="x" * (MAX_FILE_BYTES // 8))]}))
    with pytest.raises(TargetsError, match=r"targets\[0\]\.name"):
        load_targets(path)
