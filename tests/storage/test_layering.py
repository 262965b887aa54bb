"""The audit log sits below the registry: the registry uses it, never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import storage.audit

STORAGE = Path(storage.audit.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_audit_does_not_import_the_registry():
    assert not {"storage.registry", "storage.Registry"} & _imported_modules(STORAGE / "audit.py")


def test_the_audit_log_takes_the_registrys_engine(registry):
    log = storage.audit.AuditLog(registry.engine)
    log.append("layering-check", actor="test")
    assert [e.event for e in registry.audit.entries()][-1] == "layering-check"
