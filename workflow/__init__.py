"""Process definitions as data: the YAML language, its validator and its types.

This package never touches the database; the engine runs instances of the immutable
:class:`Definition` objects loaded here. Importing it only defines names.
"""

from .diagram import mermaid
from .errors import DefinitionInvalid, Diagnostic
from .guards import GuardContext, get_guard, known_guards
from .loader import (
    bundled_definitions_dir,
    load_bundled,
    load_definition,
    load_definition_text,
    load_directory,
    validate_paths,
)
from .roles import ROLES
from .spec import (
    DeadlineSpec,
    Definition,
    Due,
    Escalation,
    FieldSpec,
    Label,
    Offset,
    Reminder,
    StateSpec,
    TransitionSpec,
)

__all__ = [
    "ROLES",
    "DeadlineSpec",
    "Definition",
    "DefinitionInvalid",
    "Diagnostic",
    "Due",
    "Escalation",
    "FieldSpec",
    "GuardContext",
    "Label",
    "Offset",
    "Reminder",
    "StateSpec",
    "TransitionSpec",
    "bundled_definitions_dir",
    "get_guard",
    "known_guards",
    "load_bundled",
    "load_definition",
    "load_definition_text",
    "load_directory",
    "mermaid",
    "validate_paths",
]
