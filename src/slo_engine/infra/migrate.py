"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation treats % specially (URL-encoded passwords).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`. Idempotent.

    The migration environment runs its own event loop, so it runs in a thread of its own:
    callable from synchronous code and from inside a running event loop alike.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate") as executor:
        executor.submit(command.upgrade, alembic_config(database_url), revision).result()
