"""perfeval's engine: persistence, the one transition entry point, history and audit.

The public API (documented in docs/engine.md)::

    db = Database(url)                      # or PERFEVAL_DATABASE_URL / instance file
    init(db)                                # schema + bundled definitions
    actor = actor_for(db, "zhang")
    result = start(db, "performance_plan", actor, unit_code="101", data={...})
    fire(db, result.instance_id, "submit", actor, expected_version=result.version)
    available_triggers(db, instance_id, actor)   # buttons, and why some are blocked
    read_history(db, instance_id, actor)
    verify_history(db).ok
"""

from .audit import VerifyReport, export as export_history, verify as verify_history
from .authz import Actor
from .db import Database, resolve_url
from .exceptions import (Conflict, GuardFailed, InvalidDefinition, InvalidInput,
                         InvalidTransition, NotFound, NotPermitted, WorkflowError)
from .instances import FireResult, fire, start, update_data
from .org import ImportReport, actor_for, add_user, check_password, import_units
from .queries import (Availability, InstanceView, available_triggers, get_instance,
                      list_instances, read_history)
from .setup import init, load_definitions
# the modules implementing the definitions' declared effects (engine.effects) register
# them on import: importing the engine package makes every effect available
from . import indicator_systems as _indicator_systems, results as _results  # noqa: E402,F401

__all__ = [
    "Actor", "Availability", "Conflict", "Database", "FireResult", "GuardFailed",
    "ImportReport", "InstanceView", "InvalidDefinition", "InvalidInput", "InvalidTransition",
    "NotFound", "NotPermitted", "VerifyReport", "WorkflowError", "actor_for", "add_user",
    "available_triggers", "check_password", "export_history", "fire", "get_instance",
    "import_units", "init", "list_instances", "load_definitions", "read_history",
    "resolve_url", "start", "update_data", "verify_history",
]
