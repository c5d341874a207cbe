"""Run Alembic programmatically, as the owner role."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from backend.db.runtime import DatabaseUrls
from backend.settings import PROJECT_ROOT


def alembic_config(urls: DatabaseUrls) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["owner_url"] = urls.owner_url
    config.attributes["app_role"] = urls.app_role
    config.attributes["jobs_role"] = urls.jobs_role
    return config


def upgrade(urls: DatabaseUrls, revision: str = "head") -> None:
    command.upgrade(alembic_config(urls), revision)


def downgrade(urls: DatabaseUrls, revision: str = "base") -> None:
    command.downgrade(alembic_config(urls), revision)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this code (read once: the scripts do not change at run time)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()
