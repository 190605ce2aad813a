"""What a newcomer meets when something is wrong: one line on stderr and exit code 1,
never a traceback (unless `--debug`), and no database made where none was asked for.
The real `slo-cli` entry point in a subprocess, as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.local_servers import free_port

BOUTIQUE = Path(__file__).resolve().parents[2] / "examples" / "online-boutique.json"


def slo_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", *args],
        cwd=cwd,
        env={**environment, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refused_in_one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert expected in lines[0], lines[0]


def test_no_database_where_it_runs(tmp_path: Path) -> None:
    missing = f"No database at {tmp_path / 'slo_engine.db'}"
    for command in (
        ("query", "checkout"),
        ("impact", "checkout"),
        ("changes",),
        ("api-keys", "list"),
        ("ingest", str(BOUTIQUE)),
        ("serve",),
    ):
        refused_in_one_line(slo_cli(tmp_path, *command), missing)
    assert list(tmp_path.iterdir()) == []  # nothing was made there
    # `db upgrade` is what makes one.
    made = slo_cli(tmp_path, "db", "upgrade")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "slo_engine.db").exists()
    ingested = slo_cli(tmp_path, "ingest", str(BOUTIQUE))
    assert ingested.returncode == 0, ingested.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = slo_cli(tmp_path, "--debug", "ingest", str(BOUTIQUE))
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "DatabaseMissingError" in done.stderr


def test_server_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    refused_in_one_line(
        slo_cli(tmp_path, "query", "checkout", "--url", url, "--api-key", "k"),
        f"could not reach {url}",
    )
    refused_in_one_line(
        slo_cli(tmp_path, "ingest", str(BOUTIQUE), "--url", url, "--api-key", "k"),
        f"could not reach {url}",
    )


def test_bad_key_is_the_problem_detail(server: str, tmp_path: Path) -> None:
    bad = "slo_0123456789ab_" + "x" * 43
    for command in (("query", "checkout"), ("ingest", str(BOUTIQUE))):
        done = slo_cli(tmp_path, *command, "--url", server, "--api-key", bad)
        refused_in_one_line(done, "401: The API key is not valid.")
        assert "{" not in done.stderr  # the detail, not the problem document
