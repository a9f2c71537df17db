"""The engine's exception hierarchy.

Every error derives from :class:`WorkflowError`, carries keyword-only context
(instance, state, trigger, role, reason) and knows its HTTP status, its CLI exit code
and a stable machine-readable ``code``. The web layer maps them in one handler.
"""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    """Base class of every error the engine raises on purpose."""

    code = "workflow_error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: ``{"code", "message", **context}``."""
        return {"code": self.code, "message": self.message, **self.context}


class NotPermitted(WorkflowError):
    """The actor holds none of the roles the action needs, or acts outside their unit."""

    code = "not_permitted"
    http_status = 403
    exit_code = 3


class FieldNotEditable(NotPermitted):
    """The actor may save data in this state, but not this field: the system or other
    roles set it (``set_by``, ``editable:``). ``context`` names the field(s) and the roles
    that may set each."""

    code = "field_not_editable"


class GuardFailed(WorkflowError):
    """The transition exists and is permitted, but a guard (or requires/comment) refused."""

    code = "guard_failed"
    http_status = 422
    exit_code = 4


class InvalidTransition(WorkflowError):
    """No transition with this trigger leaves the instance's current state."""

    code = "invalid_transition"
    http_status = 409
    exit_code = 5


class StageClosed(InvalidTransition):
    """An evaluation step (score entry, computation, publication, an appeal) that the
    cycle's current stage does not allow; ``context`` names the stages that do."""

    code = "stage_closed"


class Conflict(WorkflowError):
    """The instance changed since the caller read it (stale version): reload and retry."""

    code = "conflict"
    http_status = 409
    exit_code = 6


class NotFound(WorkflowError):
    """No such instance, unit, user or definition."""

    code = "not_found"
    http_status = 404
    exit_code = 7


class InvalidInput(WorkflowError):
    """Data, file or arguments that cannot be accepted (nothing was written)."""

    code = "invalid_input"
    http_status = 422
    exit_code = 8


class InvalidDefinition(WorkflowError):
    """A definition failed validation; ``diagnostics`` lists every problem."""

    code = "invalid_definition"
    http_status = 422
    exit_code = 9

    def __init__(self, message: str, *, diagnostics: list[str] | None = None, **context: Any):
        super().__init__(message, **context)
        self.diagnostics = list(diagnostics or [])
