"""The API's schemas: JSON Schema (2020-12, as OpenAPI 3.1 uses it) as plain dicts.

The same dicts validate requests (:func:`validate`, :func:`parse_query`) and make up
``/api/openapi.json`` (:mod:`web.api.spec`), so the description cannot drift from
what the endpoints accept. The validator covers the subset used here: ``type``,
``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``,
``minimum``/``maximum``, ``minLength``/``maxLength``, ``minItems``/``maxItems``,
``pattern`` and ``$ref`` into :data:`COMPONENTS`. Strings may not hold NUL or lone
surrogates (the databases cannot store them).
"""

from __future__ import annotations

import re
from typing import Any

MAX_ID = 2**53 - 1
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9_.\-]+$"}


def ref(name: str) -> dict:
    """A reference to component ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, required: tuple[str, ...] | None = None, *,
        additional: bool = False) -> dict:
    """An object schema; every property is required unless ``required`` says otherwise."""
    return {"type": "object", "properties": properties,
            "required": list(properties if required is None else required),
            "additionalProperties": additional}


def page_of(item: str) -> dict:
    """A cursor-paginated list of ``item``."""
    return obj({"items": {"type": "array", "items": ref(item)},
                "next_cursor": nullable({"type": "string"})})


def list_of(item: str) -> dict:
    """An unpaginated list of ``item``."""
    return obj({"items": {"type": "array", "items": ref(item)}})


LABEL = obj({"zh": {"type": "string"}, "en": {"type": "string"}})
INSTANCE = {
    "id": ID, "process": {"type": "string"}, "definition_version": {"type": "integer"},
    "title": {"type": "string"}, "unit": nullable(obj({"id": ID, "code": {"type": "string"},
                                                        "name": {"type": "string"}})),
    "parent_id": nullable(ID), "state": {"type": "string"}, "state_label": {"type": "string"},
    "final": {"type": "boolean"}, "version": {"type": "integer"},
    "data": {"type": "object"}, "due_date": nullable(DATE), "overdue": {"type": "boolean"},
    "created_at": TIME, "updated_at": TIME,
}
LABELS = obj({"zh": {"type": "string"}, "en": {"type": "string"}})
ACTION = obj({"trigger": {"type": "string"}, "to_state": {"type": "string"},
              "label": {"type": "string", "description": "the Chinese label"},
              "labels": LABELS, "allowed": {"type": "boolean"},
              "comment_required": {"type": "boolean"},
              "roles": {"type": "array", "items": {"type": "string"}},
              "reasons": {"type": "array", "items": {"type": "string"},
                          "description": "bilingual texts, 中文 (English)"},
              "reason_labels": {"type": "array", "items": LABELS}})
TOKEN = {"id": ID, "username": {"type": "string"}, "name": {"type": "string"},
         "prefix": {"type": "string"}, "created_by": {"type": "string"}, "created_at": TIME,
         "last_used_at": nullable(TIME), "revoked_at": nullable(TIME),
         "expires_at": nullable(TIME), "status": {"enum": ["active", "expired", "revoked"]}}
DECIMAL = {"type": "string", "description": "an exact decimal, e.g. \"86.25\""}
RESULT = obj({"unit": obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"}}),
              "category": {"type": "string"}, "indicator": DECIMAL, "public": DECIMAL,
              "leadership": DECIMAL, "composite": DECIMAL, "grade": {"type": "string"},
              "rank": nullable({"type": "integer"}), "vetoed": {"type": "boolean"},
              "revision": {"type": "integer"}, "computed_at": TIME,
              "published_at": nullable(TIME)})
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
ATTACHMENT = {"id": ID, "instance_id": ID, "filename": {"type": "string"},
              "content_type": {"type": "string"}, "size": {"type": "integer", "minimum": 1},
              "sha256": SHA256, "uploaded_by": {"type": "string"}, "at": TIME,
              "history_seq": {"type": "integer", "minimum": 1,
                              "description": "seq of the history entry (trigger attach) "
                                             "that records the file's SHA-256"},
              "download_url": {"type": "string",
                               "description": "GET it for the file's bytes"}}

COMPONENTS: dict[str, dict] = {
    "Error": obj({"error": obj({"code": {"type": "string"}, "message": {"type": "string"},
                                "details": {"type": "object"}})}),
    "Instance": obj(INSTANCE),
    "Action": ACTION,
    "InstanceDetail": obj({**INSTANCE, "actions": {"type": "array", "items": ref("Action")},
                           "editable_fields": {
                               "type": "array", "items": {"type": "string"},
                               "description": "the fields the caller may set in the current "
                                              "state; any other is refused (403 "
                                              "field_not_editable)"}}),
    "FireResult": obj({"instance_id": ID, "from_state": nullable({"type": "string"}),
                       "to_state": {"type": "string"}, "version": {"type": "integer"},
                       "hash": {"type": "string"}}),
    "HistoryEntry": obj({"seq": {"type": "integer"}, "from_state": nullable({"type": "string"}),
                         "to_state": {"type": "string"}, "trigger": {"type": "string"},
                         "actor": {"type": "string"}, "role": {"type": "string"}, "at": TIME,
                         "comment": nullable({"type": "string"}),
                         "data_patch": nullable({"type": "object"}),
                         "prev_hash": {"type": "string"}, "hash": {"type": "string"}}),
    "VerifyReport": obj({"ok": {"type": "boolean"}, "instances": {"type": "integer"},
                         "entries": {"type": "integer"},
                         "problems": {"type": "array", "items": obj({  # null: a definition
                             "instance_id": nullable(ID), "seq": {"type": "integer"},
                             "reason": {"type": "string"}})}}),
    "Task": obj({"instance_id": ID, "process": {"type": "string"}, "title": LABEL,
                 "unit_code": nullable({"type": "string"}),
                 "unit_name": nullable({"type": "string"}), "state": {"type": "string"},
                 "state_label": LABEL, "version": {"type": "integer"}, "due_date": nullable(DATE),
                 "working_days_left": nullable({"type": "integer"}),
                 "urgency": {"enum": ["overdue", "soon", "ok", "none"]}}),
    "Notification": obj({"id": ID, "event": {"type": "string"}, "title": {"type": "string"},
                         "body": {"type": "string"}, "link": {"type": "string"},
                         "instance_id": nullable(ID), "created_at": TIME,
                         "read_at": nullable(TIME), "unread": {"type": "boolean"}}),
    "Unit": obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"},
                 "category": nullable({"type": "string"}), "parent_id": nullable(ID)}),
    "Definition": obj({"key": {"type": "string"}, "version": {"type": "integer"},
                       "content_hash": {"type": "string"}, "title": LABEL,
                       "description": {"type": "object"}, "mermaid": {"type": "string"}}),
    "CycleProgress": obj({"year": {"type": "integer"}, "instance_id": ID,
                          "state": {"type": "string"},
                          "counts": {"type": "array", "items": obj({
                              "process": {"type": "string"},
                              "category": nullable({"type": "string"}),
                              "state": {"type": "string"}, "count": {"type": "integer"}})}}),
    "CalendarStatus": obj({"version": {"type": "string"},
                           "covered_through_year": nullable({"type": "integer"}),
                           "years": {"type": "array", "items": obj({
                               "year": {"type": "integer"}, "covered": {"type": "boolean"},
                               "source": nullable({"type": "string"}),
                               "overrides": {"type": "integer"},
                               "flagged_timers": {"type": "integer"}})}}),
    "Me": obj({"id": ID, "username": {"type": "string"}, "display_name": {"type": "string"},
               "unit_id": nullable(ID), "roles": {"type": "array", "items": {"type": "string"}},
               "auth": {"enum": ["session", "token"]}}),
    "User": obj({"id": ID, "username": {"type": "string"}, "display_name": {"type": "string"},
                 "unit_id": nullable(ID), "roles": {"type": "array", "items": {"type": "string"}},
                 "active": {"type": "boolean"}}),
    "Token": obj(TOKEN),
    "NewToken": obj({**TOKEN, "token": {"type": "string"}}),
    "Marked": obj({"marked": {"type": "integer"}}),
    "Result": RESULT,
    "Attachment": obj(ATTACHMENT),
    "NewAttachment": obj({**ATTACHMENT, "version": {
        "type": "integer", "description": "the instance's version after the upload: the "
                                          "expected_version of the next change"}}),
    "Results": obj({"year": {"type": "integer"}, "published": {"type": "boolean"},
                    "categories": {"type": "array", "items": {"type": "string"}},
                    "items": {"type": "array", "items": ref("Result")}}),
}
for _name in ("Instance", "Notification"):
    COMPONENTS[_name + "Page"] = page_of(_name)
for _name in ("HistoryEntry", "Task", "Unit", "User", "Definition", "Token", "Attachment"):
    COMPONENTS[_name.replace("Entry", "") + "List"] = list_of(_name)

# Request bodies.
START = obj({"process": NAME, "unit": {"type": "string", "minLength": 1, "maxLength": 64},
             "data": {"type": "object"}}, ("process",))
FIRE = obj({"trigger": NAME, "expected_version": {"type": "integer", "minimum": 1,
                                                  "maximum": MAX_ID},
            "comment": {"type": "string", "maxLength": 4000}, "data": {"type": "object"}},
           ("trigger", "expected_version"))
SAVE = obj({"data": {"type": "object"}, "expected_version": FIRE["properties"]["expected_version"],
            "comment": {"type": "string", "maxLength": 4000}}, ("data", "expected_version"))
MARK_READ = obj({"ids": {"type": "array", "items": ID, "maxItems": 500},
                 "all": {"type": "boolean"}}, ())
NEW_TOKEN = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100},
                 "expires_days": {"type": "integer", "minimum": 1, "maximum": 365,
                                  "description": "validity in days (default 90; the "
                                                 "server's API_TOKEN_MAX_DAYS caps it)"}},
                ("name",))
#: multipart/form-data: ``file`` is the uploaded file part (its name gives the type);
#: the other parts are text, ``expected_version`` a decimal integer.
ATTACH = obj({"file": {"type": "string", "format": "binary",
                       "description": "the file, as a file part with its file name "
                                      "(the extension decides the allowed type)"},
              "comment": FIRE["properties"]["comment"],
              "expected_version": FIRE["properties"]["expected_version"]}, ("file",))

# Query parameters: name -> schema (all optional).
LIMIT = {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
CURSOR = {"type": "string", "pattern": "^[1-9][0-9]{0,15}$",
          "description": "next_cursor of the previous page"}
INSTANCE_QUERY = {"process": NAME, "state": NAME,
                  "unit": {"type": "string", "minLength": 1, "maxLength": 64},
                  "cycle": {"type": "integer", "minimum": 2000, "maximum": 2100},
                  "overdue": {"type": "boolean"}, "limit": LIMIT, "cursor": CURSOR}
TASK_QUERY = {"process": NAME, "state": NAME}
EXPORT_QUERY = {"format": {"enum": ["jsonl", "csv"], "default": "jsonl"}}
RESULTS_QUERY = {"category": {"type": "string", "minLength": 1, "maxLength": 64}}
INBOX_QUERY = {"unread": {"type": "boolean"}, "limit": LIMIT, "cursor": CURSOR}

_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list,
          "null": type(None), "number": (int, float)}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()  # JSON Schema: 2.0 is an integer
    return isinstance(value, _TYPES[name])


def _string_errors(value: str, schema: dict, path: str) -> list[tuple[str, str]]:
    errors = []
    if "\x00" in value:
        errors.append((path, "NUL characters are not allowed"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append((path, "not valid UTF-8 text"))
    if len(value) < schema.get("minLength", 0):
        errors.append((path, f"shorter than {schema['minLength']} characters"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append((path, f"longer than {schema['maxLength']} characters"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append((path, f"does not match {schema['pattern']}"))
    return errors


def _number_errors(value, schema: dict, path: str) -> list[tuple[str, str]]:
    if "minimum" in schema and value < schema["minimum"]:
        return [(path, f"less than {schema['minimum']}")]
    if "maximum" in schema and value > schema["maximum"]:
        return [(path, f"greater than {schema['maximum']}")]
    return []


def _object_errors(value: dict, schema: dict, path: str) -> list[tuple[str, str]]:
    errors = [(f"{path}.{k}" if path else k, "is required")
              for k in schema.get("required", ()) if k not in value]
    props = schema.get("properties", {})
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key in props:
            errors += validate(item, props[key], where)
        elif schema.get("additionalProperties", True) is False:
            errors.append((where, "is not a known property"))
        else:
            errors += _free_errors(item, where)
    return errors


def _free_errors(value: Any, path: str) -> list[tuple[str, str]]:
    """Text anywhere in free-form data must still be storable."""
    if isinstance(value, str):
        return _string_errors(value, {}, path)
    if isinstance(value, dict):
        return [e for k, v in value.items()
                for e in _string_errors(str(k), {}, path) + _free_errors(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _free_errors(v, f"{path}[{i}]")]
    return []


def validate(value: Any, schema: dict, path: str = "") -> list[tuple[str, str]]:
    """Every way ``value`` breaks ``schema``, as ``(path, message)`` pairs."""
    if "$ref" in schema:
        return validate(value, COMPONENTS[schema["$ref"].rsplit("/", 1)[1]], path)
    if "anyOf" in schema:
        options = [validate(value, s, path) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else options[0]
    if "enum" in schema and value not in schema["enum"]:
        return [(path, f"must be one of {', '.join(map(str, schema['enum']))}")]
    kind = schema.get("type")
    if kind and not _type_ok(value, kind):
        return [(path or "body", f"must be of type {kind}")]
    if isinstance(value, str):
        return _string_errors(value, schema, path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_errors(value, schema, path)
    if isinstance(value, dict):
        return _object_errors(value, schema, path)
    if isinstance(value, list):
        errors = []
        if len(value) > schema.get("maxItems", len(value)):
            errors.append((path, f"more than {schema['maxItems']} items"))
        for i, item in enumerate(value):
            errors += validate(item, schema.get("items", {}), f"{path}[{i}]")
        return errors
    return []


def coerce(raw: str, schema: dict) -> Any:
    """A query-string value converted to the schema's type (ValueError if it cannot be)."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d{1,20}", raw.strip()):
            raise ValueError("must be an integer")
        return int(raw)
    if kind == "boolean":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError("must be true or false")
        return raw.lower() in ("true", "1")
    return raw


def parse_query(args, params: dict[str, dict]) -> tuple[dict, list[tuple[str, str]]]:
    """The declared query parameters of ``args``, converted, with defaults; and errors."""
    values, errors = {}, []
    for name, schema in params.items():
        raw = args.get(name)
        if raw is None:
            values[name] = schema.get("default")
            continue
        try:
            values[name] = coerce(raw, schema)
        except ValueError as exc:
            errors.append((name, str(exc)))
            continue
        errors += validate(values[name], schema, name)
    return values, errors
