"""Settings from the environment: safe defaults, and a clear refusal to start when something is wrong."""

from __future__ import annotations

import os
import re

import pytest

from backend.settings import PROJECT_ROOT, SettingsError, load_settings

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without any parboard or database variable."""
    for name in list(os.environ):
        if name.startswith(("PARBOARD_", "DATABASE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PARBOARD_PUBLIC_URL", "https://parboard.example.gov.vn")


def test_defaults_are_production_without_the_development_identity_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    settings = load_settings()
    assert settings.app.env == "production"
    assert settings.auth.dev_idp_url == ""
    assert not hasattr(settings.app, "dev_login")  # the foundation's shortcut is gone, not merely off
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


@pytest.mark.parametrize("env", ["production", "test", "development"])
@pytest.mark.parametrize("value", ["1", "true", "maybe"])
def test_the_removed_dev_login_is_refused_with_a_pointer_to_its_replacement(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    """Whoever still sets it learns that it no longer opens anything, instead of silently losing it."""
    monkeypatch.setenv("PARBOARD_ENV", env)
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("PARBOARD_DEV_LOGIN", value)
    with pytest.raises(SettingsError, match="PARBOARD_DEV_LOGIN no longer exists") as refused:
        load_settings()
    assert "PARBOARD_DEV_IDP_URL" in str(refused.value)


def test_development_alone_has_no_identity_provider_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    settings = load_settings()
    assert settings.app.debug is True
    assert settings.auth.dev_idp_url == ""


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


def test_without_a_public_url_a_development_copy_on_another_port_is_its_own_public_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PARBOARD_PUBLIC_URL")
    monkeypatch.setenv("PARBOARD_ENV", "development")
    monkeypatch.setenv("PARBOARD_PORT", "8100")
    assert load_settings().auth.public_url == "http://127.0.0.1:8100"
    monkeypatch.setenv("PARBOARD_PUBLIC_URL", "http://localhost:9000/")
    assert load_settings().auth.public_url == "http://localhost:9000"


@pytest.mark.parametrize(
    ("args", "port", "public_url", "idp_url", "var_dir"),
    [
        ([], "8000", "http://127.0.0.1:8000", "http://127.0.0.1:8001", "var"),
        (["PARBOARD_PORT=8100"], "8100", "http://127.0.0.1:8100", "http://127.0.0.1:8101", "var/copy-8100"),
        (
            ["PARBOARD_PORT=8200", "PARBOARD_DEV_IDP_PORT=9001"],
            "8200",
            "http://127.0.0.1:8200",
            "http://127.0.0.1:9001",
            "var/copy-8200",
        ),
    ],
)
def test_make_run_serves_the_port_it_is_given_with_its_provider_beside_it(
    args: list[str], port: str, public_url: str, idp_url: str, var_dir: str
) -> None:
    """`make run PARBOARD_PORT=8100` beside a first `make run`: its own port, public URL and provider port."""
    import shutil
    import subprocess

    make = shutil.which("make")
    assert make
    result = subprocess.run(
        [make, "-n", "-s", "run", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("PARBOARD_")},
    )
    command = result.stdout.replace("\\\n", " ")
    assert f"PARBOARD_PORT={port} " in command
    assert f"PARBOARD_PUBLIC_URL={public_url} " in command
    assert f"PARBOARD_DEV_IDP_URL={idp_url} " in command
    assert f"PARBOARD_VAR_DIR={var_dir} " in command


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


def test_production_needs_an_https_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.delenv("PARBOARD_PUBLIC_URL")
    with pytest.raises(SettingsError, match="PARBOARD_PUBLIC_URL must be https:// in production"):
        load_settings()
    monkeypatch.setenv("PARBOARD_PUBLIC_URL", "http://parboard.example.gov.vn")
    with pytest.raises(SettingsError, match="PARBOARD_PUBLIC_URL must be an https:// URL"):
        load_settings()
    monkeypatch.setenv("PARBOARD_PUBLIC_URL", "https://parboard.example.gov.vn/")
    settings = load_settings()
    assert settings.auth.public_url == "https://parboard.example.gov.vn"
    assert settings.auth.cookie_secure is True


def test_development_identity_provider_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_SECRET_KEY", SECRET)
    monkeypatch.setenv("PARBOARD_DEV_IDP_URL", "http://127.0.0.1:8001")
    with pytest.raises(SettingsError, match="PARBOARD_DEV_IDP_URL can only be set with PARBOARD_ENV=development"):
        load_settings()
    monkeypatch.setenv("PARBOARD_ENV", "development")
    monkeypatch.setenv("PARBOARD_DEV_IDP_URL", "http://10.0.0.5:8001")
    with pytest.raises(SettingsError, match=re.escape("must be http://127.0.0.1:<port>")):
        load_settings()
    monkeypatch.setenv("PARBOARD_DEV_IDP_URL", "http://127.0.0.1:8001/")
    assert load_settings().auth.dev_idp_url == "http://127.0.0.1:8001"
