"""The README's tour, run as a newcomer pastes it: every command of the shell blocks
marked `<!-- tour -->` (the line before the block's fence), one after another, each
as written, against a real `slo-cli serve` (what `make run` starts: migrated SQLite,
the default rate limits), and each must exit 0.

What the test changes, and only that:
- the server's address: `http://127.0.0.1:8000` in a command is replaced by the test
  server's base URL (a free port);
- where it runs: a fresh temporary directory holding `examples` (a link to the
  repository's) and `.venv` (a link to the environment running the tests, or, if that
  has no `bin/slo-cli`, a `.venv/bin/slo-cli` that runs this interpreter's
  `slo_engine.cli`), with DATABASE_URL naming the server's database there, as
  `make run` and the tour share ./slo_engine.db;
- how commands follow each other: each runs in its own `bash` with `set -o pipefail`,
  starting from the variables the commands before it set (as in one terminal).

Needs bash, curl, jq and Graphviz's dot (the README says so): skipped without them
locally, failed in CI.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_servers import served_env, start_api

REPOSITORY = Path(__file__).resolve().parents[2]
README = REPOSITORY / "README.md"
MARK = "<!-- tour -->"
README_URL = "http://127.0.0.1:8000"
TOOLS = ("bash", "curl", "jq", "dot")
# An RFC 9457 problem document's status: a refusal or an error.
PROBLEM = re.compile(r'"status":\s*[45]\d\d\b')

# Key commands (by a piece of their text, which must occur in exactly one) and what
# their output (stdout and stderr) must show, as the README's comments say it does.
SHOWS = {
    "--data @examples/online-boutique.json": ['"nodes_upserted":12', '"edges_upserted":16'],
    "dependencies?depth=2": ['"service_id":"cartservice"'],
    '"target":"frontend",': ['"cycle_path":["checkoutservice","paymentservice","frontend"'],
    "-X PATCH": ['"status":"acknowledged"'],
    "services?team=checkout": ['"service_id":"cartservice"'],
    '{"name":"backstage"': ['"name":"backstage"'],
    "api-keys list": ["ci-topology", "backstage"],
    "api-keys revoke backstage": ["Revoked"],
    "grep -i ratelimit": ["x-ratelimit-limit: 60", 'ratelimit-policy: "query";q=60;w=60'],
    "slo-cli ingest examples/sock-shop.json": [
        "Ingested 1 file: 16 services, 17 edges, 0 new cycles, 0 warnings"
    ],
    "query front-end --depth 2": ["front-end calls (downstream)", "carts"],
    "query checkoutservice --direction both": [
        "checkoutservice calls (downstream)",
        "checkoutservice called by (upstream)",
        "↻ checkoutservice (cycle)",
    ],
    "query orders --direction upstream --json": ['"service_id": "orders"'],
    "query frontend --url": ["frontend calls (downstream)", "↻ frontend (cycle)"],
    "slo-cli impact redis-cart": ["cartservice"],
    "slo-cli availability checkoutservice": ["checkoutservice"],
    "graph?format=mermaid": ["paymentservice"],
    "changes --service frontend": ["paymentservice"],
    "diff --from": ["paymentservice"],
    "impact paymentservice --as-of": ["graph revision 1"],
}


def tour_blocks(text: str) -> list[str]:
    """The shell blocks marked as the tour's: the fenced block right after each mark."""
    marks = re.findall(f"^{re.escape(MARK)}$", text, flags=re.MULTILINE)
    blocks = re.findall(
        f"^{re.escape(MARK)}\n```sh\n(.*?)\n```", text, flags=re.DOTALL | re.MULTILINE
    )
    assert marks and len(blocks) == len(marks), "a tour mark must come right before ```sh"
    return blocks


def commands(block: str) -> list[str]:
    """The block's commands: comment lines dropped, a command running on over lines
    ending with a backslash or inside quotes kept whole."""
    found: list[str] = []
    pending: list[str] = []
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        text = "\n".join(pending)
        if text.endswith("\\"):
            continue
        try:
            shlex.split(text, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        found.append(text)
        pending = []
    assert not pending, f"unfinished command in the README's tour: {pending}"
    return found


def test_the_tour_is_found() -> None:
    tour = [c for block in tour_blocks(README.read_text()) for c in commands(block)]
    assert len(tour) >= 25
    for piece in SHOWS:
        assert sum(piece in command for command in tour) == 1, piece
    assert "../shared" not in README.read_text()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        how = f"{', '.join(missing)} must be installed (apt-get install {' '.join(missing)})"
        if os.environ.get("CI"):
            pytest.fail(f"the README tour needs them in CI: {how}")
        pytest.skip(f"the README tour is off: {how}")
    where = tmp_path / "tour"
    where.mkdir()
    (where / "examples").symlink_to(REPOSITORY / "examples", target_is_directory=True)
    environment = Path(sys.prefix)
    if (environment / "bin" / "slo-cli").exists():
        (where / ".venv").symlink_to(environment, target_is_directory=True)
    else:
        launcher = where / ".venv" / "bin" / "slo-cli"
        launcher.parent.mkdir(parents=True)
        launcher.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m slo_engine.cli "$@"\n'
        )
        launcher.chmod(0o755)
    database_url = f"sqlite+aiosqlite:///{where / 'slo_engine.db'}"
    env = served_env(database_url)
    # The tour shows the default rate limits.
    for variable in ("RATE_LIMIT_QUERY", "RATE_LIMIT_INGESTION", "RATE_LIMIT_AUTH_FAILURES"):
        env.pop(variable)
    shell_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RATE_LIMIT_", "SLO_API_KEY", "AUTH"))
    }
    shell_env.update(DATABASE_URL=database_url, COLUMNS="200")
    upgraded = subprocess.run(
        [str(where / ".venv" / "bin" / "slo-cli"), "db", "upgrade"],
        cwd=where,
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    process, url = start_api(env, tmp_path / "server.log")
    shell_env["TOUR_URL"] = url
    try:
        yield where, shell_env
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_readme_tour_runs_as_written(workspace: tuple[Path, dict[str, str]]) -> None:
    where, env = workspace
    url = env.pop("TOUR_URL")
    state = where.parent / "tour-state.sh"
    state.write_text("")
    ran: list[str] = []
    for block in tour_blocks(README.read_text()):
        for command in commands(block):
            script = (
                f"set -a\nsource {shlex.quote(str(state))}\nset -o pipefail\n"
                f"{command.replace(README_URL, url)}\n"
                f"status=$?\nexport -p > {shlex.quote(str(state))}\nexit $status\n"
            )
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=where,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            shown = done.stdout + done.stderr
            print(f"$ {command}\n{shown}")  # shown by pytest when the test fails
            assert done.returncode == 0, (command, shown)
            # curl exits 0 on an HTTP error: no answer may be a problem document.
            assert not PROBLEM.search(shown), (command, shown)
            for piece, expected in SHOWS.items():
                if piece in command:
                    for text in expected:
                        assert text in shown, (command, text, shown)
            ran.append(command)
    assert len(ran) == len(
        [c for block in tour_blocks(README.read_text()) for c in commands(block)]
    )
    assert (where / "frontend.svg").read_text().lstrip().startswith("<?xml")
