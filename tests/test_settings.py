"""Settings from the environment: safe defaults, and a clear refusal to start when something is wrong."""

from __future__ import annotations

import os

import pytest

from backend.settings import SettingsError, load_settings

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without any parboard or database variable."""
    for name in list(os.environ):
        if name.startswith(("PARBOARD_", "DATABASE_")):
            monkeypatch.delenv(name)


def test_defaults_are_production_without_the_dev_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    settings = load_settings()
    assert settings.app.env == "production"
    assert settings.app.dev_login is False
    assert settings.app.debug is False
    assert settings.app.secret_key == SECRET
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert (settings.db.url, settings.db.owner_url) == ("", "")


def test_production_without_a_secret_key_refuses_to_start() -> None:
    with pytest.raises(SettingsError, match="PARBOARD_SECRET_KEY must be set in production"):
        load_settings()


@pytest.mark.parametrize("env", ["production", "development", "test"])
def test_a_short_secret_key_is_rejected(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("PARBOARD_ENV", env)
    monkeypatch.setenv("PARBOARD_SECRET_KEY", "too-short-" * 3)
    with pytest.raises(SettingsError, match="PARBOARD_SECRET_KEY must be at least 32 characters"):
        load_settings()


def test_a_blank_secret_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", "   ")
    with pytest.raises(SettingsError, match="PARBOARD_SECRET_KEY must be set in production"):
        load_settings()


def test_development_without_a_secret_key_gets_a_random_one_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    first, second = load_settings(), load_settings()
    assert len(first.app.secret_key) >= 32
    assert first.app.secret_key != second.app.secret_key


@pytest.mark.parametrize("env", ["production", "test"])
def test_the_dev_login_is_impossible_to_enable_outside_development(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("PARBOARD_ENV", env)
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("PARBOARD_DEV_LOGIN", "1")
    with pytest.raises(SettingsError, match="PARBOARD_DEV_LOGIN can only be enabled with PARBOARD_ENV=development"):
        load_settings()


def test_the_dev_login_is_allowed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    monkeypatch.setenv("PARBOARD_DEV_LOGIN", "1")
    settings = load_settings()
    assert settings.app.dev_login is True
    assert settings.app.debug is True


def test_development_alone_does_not_enable_the_dev_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    assert load_settings().app.dev_login is False


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_a_dev_login_that_is_not_a_boolean_is_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    monkeypatch.setenv("PARBOARD_DEV_LOGIN", value)
    with pytest.raises(SettingsError, match="PARBOARD_DEV_LOGIN must be a boolean"):
        load_settings()


@pytest.mark.parametrize("value", ["prod", "Production", "staging", "dev"])
def test_an_unknown_environment_is_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PARBOARD_ENV", value)
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    with pytest.raises(SettingsError, match="PARBOARD_ENV must be development, test or production"):
        load_settings()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http", "PARBOARD_PORT must be an integer"),
        ("80.5", "PARBOARD_PORT must be an integer"),
        ("0", "PARBOARD_PORT must be between 1 and 65535"),
        ("65536", "PARBOARD_PORT must be between 1 and 65535"),
        ("-1", "PARBOARD_PORT must be between 1 and 65535"),
    ],
)
def test_a_bad_port_is_rejected(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("PARBOARD_PORT", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_a_good_port_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("PARBOARD_PORT", " 8443 ")
    assert load_settings().server.port == 8443


@pytest.mark.parametrize("given", ["DATABASE_URL", "DATABASE_OWNER_URL"])
def test_one_database_url_without_the_other_is_rejected(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv(given, "postgresql://parboard@db.example/parboard")
    with pytest.raises(SettingsError, match=r"DATABASE_URL .* DATABASE_OWNER_URL"):
        load_settings()


def test_both_database_urls_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://parboard_app@db.example/parboard")
    monkeypatch.setenv("DATABASE_OWNER_URL", "postgresql://parboard_owner@db.example/parboard")
    settings = load_settings()
    assert settings.db.url == "postgresql://parboard_app@db.example/parboard"
    assert settings.db.owner_url == "postgresql://parboard_owner@db.example/parboard"


def test_an_unknown_log_level_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("PARBOARD_LOG_LEVEL", "verbose")
    with pytest.raises(SettingsError, match="PARBOARD_LOG_LEVEL"):
        load_settings()


@pytest.mark.parametrize(("name", "value"), [("PARBOARD_WORKERS", "0"), ("PARBOARD_DB_POOL_SIZE", "many")])
def test_bad_pool_and_worker_counts_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
