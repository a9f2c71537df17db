"""The package's public names are pinned, and importing it touches no database code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import workflow

PUBLIC = {
    "DeadlineSpec", "Definition", "DefinitionInvalid", "Diagnostic", "Due", "Escalation",
    "FieldSpec", "GuardContext", "Label", "Offset", "ROLES", "Reminder", "StateSpec",
    "TransitionSpec", "bundled_definitions_dir", "get_guard", "known_guards", "load_bundled",
    "load_definition", "load_definition_text", "load_directory", "mermaid", "validate_paths",
}


def test_all_is_pinned() -> None:
    assert set(workflow.__all__) == PUBLIC
    assert all(hasattr(workflow, name) for name in workflow.__all__)


def test_importing_workflow_loads_no_database_or_engine_module() -> None:
    code = ("import sys, workflow; workflow.load_bundled(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'sqlalchemy', 'alembic', 'engine', 'web', 'notifications', 'flask', 'transitions'}))")
    root = Path(workflow.__file__).parent.parent

    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_no_module_in_the_package_imports_the_database_layer() -> None:
    package = Path(workflow.__file__).parent
    forbidden = ("sqlalchemy", "alembic", "engine", "web", "notifications")

    offenders = [
        f"{path.relative_to(package)}: {line.strip()}"
        for path in package.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(("import ", "from "))
        and line.split()[1].split(".")[0] in forbidden
    ]

    assert offenders == []
