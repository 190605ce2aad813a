"""A 503 for a write cut while committing says so in its problem document
(`outcome_unknown`), so clients do not send it again blindly; other 503s do not."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from slo_engine.errors import DatabaseUnavailableError
from slo_engine.infra.http_errors import install_error_handlers


def test_only_a_cut_commit_says_its_outcome_is_unknown() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/cut")
    async def cut() -> None:
        raise DatabaseUnavailableError(
            "lost while committing", retry_after_seconds=5, cause="reset", outcome_unknown=True
        )

    @app.post("/down")
    async def down() -> None:
        raise DatabaseUnavailableError("down", retry_after_seconds=5, cause="refused")

    with TestClient(app, raise_server_exceptions=False) as client:
        cut_answer = client.post("/cut")
        down_answer = client.post("/down")
    assert cut_answer.status_code == down_answer.status_code == 503
    assert cut_answer.headers["retry-after"] == "5"
    assert cut_answer.json()["outcome_unknown"] is True
    assert "outcome_unknown" not in down_answer.json()
