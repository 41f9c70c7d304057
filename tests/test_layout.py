"""Imports point one way (DESIGN.md "Layout"), read from the source with `ast`, function-level imports
included: policy imports none of ours; federation and generation never import the server, nor
each other; inside the server, the rooms (server/web, server/api, server/admin, server/cli) import
only rooms below them, the shared modules at server/ top import no room (server/app.py, which
mounts the routes, aside), and nothing outside server/cli imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "federation", "generation", "policy")
# A room may import the rooms listed before it: the API's sign-in page uses the web pages' frame,
# the admin API renders statuses as the client API does, and the command line reaches them all.
ROOMS = ("server.web", "server.api", "server.admin", "server.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module of ours that the file at `path` imports, by its dotted name; `from a import b`
    counts as importing `a.b` where that is a module, else `a`."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                as_path = ROOT.joinpath(*candidate.split("."))
                is_module = as_path.with_suffix(".py").is_file() or (as_path / "__init__.py").is_file()
                found.add(candidate if is_module else module)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def import_edges() -> list[tuple[str, str]]:
    return sorted((module_name(path), target)
                  for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                  for target in imported_modules(path))


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def room(module: str) -> str | None:
    return next((r for r in ROOMS if within(module, r)), None)


def violation(source: str, target: str) -> str | None:
    """Why `source` may not import `target`, or None where it may."""
    layer, target_layer = source.split(".")[0], target.split(".")[0]
    if layer == "policy" and target_layer != "policy":
        return "policy imports none of the other layers"
    if layer in ("federation", "generation") and target_layer not in (layer, "policy"):
        return f"{layer} imports only itself and policy"
    if within(target, "server.cli") and not within(source, "server.cli"):
        return "nothing outside server/cli imports it"
    source_room, target_room = room(source), room(target)
    if target_room is None or source_room == target_room or layer != "server":
        return None
    if source_room is None:
        return None if source == "server.app" else "a shared module at server/ top imports no room"
    if ROOMS.index(target_room) > ROOMS.index(source_room):
        return f"{source_room} may import only {', '.join(ROOMS[:ROOMS.index(source_room)]) or 'no room'}"
    return None


def test_the_import_reader_sees_the_app_and_command_line() -> None:
    edges = set(import_edges())
    assert ("server.app", "server.api.statuses") in edges
    assert ("server.admin.reports", "server.api.statuses") in edges
    assert ("server.cli.main", "server.app") in edges  # a function-level import
    assert ("federation.store.delivery", "federation.visibility") in edges  # a relative `..` import


def test_the_rules_refuse_each_wrong_direction() -> None:
    assert violation("policy.consent", "federation.store")
    assert violation("federation.inbox", "server.store")
    assert violation("generation.jobs", "federation.store")
    assert violation("server.runtime", "server.api.statuses")
    assert violation("server.api.statuses", "server.admin.reports")
    assert violation("server.web.pages", "server.api.oauth")
    assert violation("server.admin.reports", "server.cli.common")
    assert violation("server.app", "server.cli.main")
    assert violation("server.cli.main", "server.admin.prompts") is None
    assert violation("server.app", "server.web.webapp") is None


def test_imports_point_one_way() -> None:
    wrong = [f"{source} -> {target}: {why}" for source, target in import_edges()
             if (why := violation(source, target))]
    assert not wrong, "\n".join(wrong)
