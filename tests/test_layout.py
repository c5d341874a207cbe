"""The project's shape: no import cycle, infrastructure that does not import the features, production and
development pins apart, an image without development code, the same checks before a commit as in `make test`."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

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


# --- imports ------------------------------------------------------------------------------------------------


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at `root` → the modules of that package it imports, wherever the import
    stands (top of the file or inside a function: a lazy import is still a dependency), except under
    `if TYPE_CHECKING:`."""
    prefix = root.parent
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(prefix).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def type_checking(node: ast.AST) -> bool:
        test = node.test if isinstance(node, ast.If) else None
        return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )

    def imported(name: str, path: Path) -> set[str]:
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        pending: list[ast.AST] = [ast.parse(path.read_text())]
        while pending:
            node = pending.pop()
            if type_checking(node):
                pending.extend(node.orelse)  # type: ignore[attr-defined]
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
            pending.extend(ast.iter_child_nodes(node))
        targets = set()
        for target in found:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        return targets

    return {name: imported(name, path) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_cycle_check_sees_lazy_imports_and_ignores_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def later():\n    from ..a import x\n")  # lazy, relative: a cycle
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n")
    (package / "d.py").write_text("import pkg.c\n")  # c imports d for types only: no cycle
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.sub.b"]]


def test_no_import_cycle_outside_type_checking() -> None:
    assert cycles(import_graph(PROJECT_ROOT / "backend")) == []


def test_the_queue_and_the_tenant_configuration_import_no_feature() -> None:
    """The queue is infrastructure (the worker knows the jobs); the tenant configuration sits under the features
    whose sections it checks through SECTION_CHECKS."""
    graph = import_graph(PROJECT_ROOT / "backend")
    assert not {m for m in graph["backend.jobs.queue"] if m.startswith("backend.domain")}
    features = ("backend.domain.remedies", "backend.domain.submissions")
    assert not {m for m in graph["backend.domain.tenants.config"] if m.startswith(features)}
    from backend.domain.tenants.config import SECTION_CHECKS

    assert set(SECTION_CHECKS) == {"holidays", "calendar"}


# Who may set the tenant context besides the doors of `backend.db.rls` (`acting_in`, `reading_province`,
# `reading_archive`): the tenant dependency, for the request's own tenant, and code that runs as the owner or the
# jobs' role (trusted with the setting alone by `app_tenant()`), or binds no tenant at all. A request handler that
# crosses into another tenant goes through a door, which checks the province (or the lineage) and the right.
TRUSTED_BINDERS = {
    ("backend.auth.services", "sign_in"): "binds no tenant: the person only, to read their own memberships",
    ("backend.domain.tenants.deps", "provide_tenant_context"): "the request's own tenant, after the access check",
    ("backend.domain.tenants.deps", "provide_unbound_tenant_context"): "the same, for a board move",
    ("backend.domain.assessments.history", "import_histories"): "`parboard history import`, as the owner",
    ("backend.domain.demo_cycle", "_person"): "the demo's seed, as the owner",
    ("backend.domain.demo_cycle", "_archive_board"): "the demo's seed, as the owner",
    ("backend.domain.demo_cycle", "seed_demo_cycle"): "the demo's seed, as the owner",
    ("backend.domain.submissions.services", "build_package"): "the package job, as the jobs' role",
    ("backend.domain.submissions.services", "_reporting"): "the package job, as the jobs' role",
    ("backend.domain.submissions.services", "_mark_failed"): "the package job, as the jobs' role",
    ("backend.domain.submissions.verify", "check_recorded"): "`parboard verify`, as the owner",
    ("backend.domain.tenants.demo_fill", "demo_history"): "the demo's fill, as the owner",
    ("backend.domain.tenants.demo_fill", "demo_assessments"): "the demo's fill, as the owner",
    ("backend.domain.tenants.lineage", "apply_lineage"): "`parboard tenants sync`, as the owner",
    ("backend.domain.tenants.lineage", "_hand_over"): "`parboard tenants sync`, as the owner",
    ("backend.domain.tenants.sync", "_sync_province"): "`parboard tenants sync`, as the owner",
    ("backend.domain.evidence.check", "<module>"): "`check_storage`'s statement, run as the owner",
    ("backend.domain.tenants.deps", "<module>"): "the tenant dependency's statement (the tenant and the check)",
    ("backend.jobs.reminders", "collect"): "the reminders job, as the jobs' role",
}
BINDING_CALLS = {"bind_tenant", "remember_context"}


def tenant_binders(root: Path) -> set[tuple[str, str]]:
    """(module, function) of every call that sets the tenant context outside `backend.db.rls`: a call of
    `bind_tenant` or `remember_context`, or a use of `app.tenant_id` / `TENANT_SETTING` (a `set_config` of its own)."""
    found: set[tuple[str, str]] = set()
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        if module == "backend.db.rls":
            continue

        def visit(node: ast.AST, function: str, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
                if isinstance(child, ast.Call):
                    callee = child.func
                    name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
                    if name in BINDING_CALLS:
                        found.add((module, inner))
                elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                    if "set_config('app.tenant_id'" in child.value:
                        found.add((module, inner))
                elif isinstance(child, ast.Name) and child.id == "TENANT_SETTING" and isinstance(child.ctx, ast.Load):
                    found.add((module, inner))
                visit(child, inner)

        visit(ast.parse(path.read_text()), "<module>")
    return found


def test_the_tenant_check_sees_calls_settings_and_names(tmp_path: Path) -> None:
    package = tmp_path / "backend"
    package.mkdir()
    (package / "a.py").write_text(
        "async def crosses(db, t):\n    await bind_tenant(db, t)\n"
        "def own(db):\n    rls.remember_context(db, None)\n"
        "Q = \"SELECT set_config('app.tenant_id', :t, true)\"\n"
        "def setting():\n    return func.set_config(TENANT_SETTING, 't', True)\n"
        "def reads():\n    return \"current_setting('app.tenant_id', true)\"\n"
    )
    assert tenant_binders(package) == {
        ("backend.a", "crosses"),
        ("backend.a", "own"),
        ("backend.a", "<module>"),
        ("backend.a", "setting"),
    }


def test_nothing_outside_the_doors_binds_another_tenant() -> None:
    """Every crossing of a request goes through `acting_in`, `reading_province` or `reading_archive`."""
    found = tenant_binders(PROJECT_ROOT / "backend")
    untrusted = found - set(TRUSTED_BINDERS)
    assert not untrusted, f"the tenant context set outside the doors of backend.db.rls: {sorted(untrusted)}"
    assert set(TRUSTED_BINDERS) <= found, "a trusted place that no longer binds a tenant leaves TRUSTED_BINDERS"


def test_no_test_module_imports_another_test_module() -> None:
    """What tests share lives in tests/support.py, tests/factories.py, tests/fixtures/ and the *_support modules:
    importing a test module runs its module-level fixtures and marks into the importer, and couples two files
    that change for different reasons."""
    graph = import_graph(PROJECT_ROOT / "tests")
    found = {
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if target.rpartition(".")[2].startswith("test_")
    }
    assert found == set()


def test_the_test_import_check_sees_a_lazy_import_of_a_test_module(tmp_path: Path) -> None:
    package = tmp_path / "tests"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "test_a.py").write_text("def helper():\n    from tests.test_b import b\n")
    (package / "test_b.py").write_text("b = 1\n")
    (package / "support.py").write_text("")
    assert import_graph(package)["tests.test_a"] == {"tests.test_b"}
