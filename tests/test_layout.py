"""The project's shape: production and development pins apart, an image without development code, the
same checks before a commit as in `make test`."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement

from backend.settings import PROJECT_ROOT

DEV_TOOLS = {"pytest", "playwright", "moto", "boto3", "mypy", "ruff", "mutmut", "hypothesis", "oidc-provider-mock"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _pins(lock: str) -> dict[str, str]:
    lines = (PROJECT_ROOT / lock).read_text().splitlines()
    return {_name(line.split("==")[0]): line for line in lines if line and not line.startswith("#")}


def _needed(requirements: list[str]) -> set[str]:
    """Every distribution these requirements install (as installed in this environment), extras followed."""
    seen: dict[str, set[str]] = {}
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = _name(requirement.name)
        extras = set(requirement.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        try:
            requires = distribution(requirement.name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            dependency = Requirement(text)
            if dependency.marker:
                if not any(dependency.marker.evaluate({"extra": extra}) for extra in seen[name] | {""}):
                    continue
                dependency.marker = None
            pending.append(dependency)
    return set(seen)


def test_production_and_development_pins_are_apart_and_complete() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    production, development = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert not set(production) & set(development)
    assert not DEV_TOOLS & set(production)
    assert set(production) >= _needed(project["dependencies"])  # the image lacks nothing it needs
    assert set(production) | set(development) >= _needed(project["optional-dependencies"]["dev"])
    assert set(development) <= _needed(project["optional-dependencies"]["dev"])  # nothing stray
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements.lock -r requirements-dev.lock" in makefile


def test_the_image_installs_production_pins_and_no_development_identity_provider() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "RUN pip install -r requirements.lock\n" in dockerfile
    assert "pip install -r requirements-dev" not in dockerfile
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    assert "backend/devidp" in ignored


def test_production_code_runs_without_the_development_identity_provider() -> None:
    """Every module but backend.devidp imports with backend.devidp missing (as in the image), and the app
    and the command line start; `parboard demo` with a development provider says it is not installed."""
    script = """
import importlib, pkgutil, sys
from importlib.abc import MetaPathFinder

class NoDevIdP(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "backend.devidp" or name.startswith("backend.devidp."):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, NoDevIdP())
import backend
for module in pkgutil.walk_packages(backend.__path__, "backend."):
    if not module.name.startswith("backend.devidp"):
        importlib.import_module(module.name)
from click.testing import CliRunner
from backend.cli import _dev_identity_provider, main
assert CliRunner().invoke(main, ["--help"]).exit_code == 0
from backend.asgi import create_app
from tests.support import make_settings
create_app(make_settings())
import click
try:
    _dev_identity_provider(make_settings())
except click.ClickException as exc:
    print(exc.message)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "không có trong bản cài đặt này" in done.stdout


def test_pre_commit_runs_the_same_checks_as_make_test() -> None:
    config = (PROJECT_ROOT / ".pre-commit-config.yaml").read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for command in ("ruff check backend tests migrations", "ruff format --check backend tests migrations", "mypy"):
        assert f"$(BIN)/{command}" in makefile
        assert f"entry: .venv/bin/{command}" in config
