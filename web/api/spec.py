"""Operations: each endpoint declared once, validated from, and described by, its schemas.

:func:`operation` registers a view on the blueprint *and* records it; the wrapper
parses the declared query parameters and JSON body with :mod:`web.api.schemas` before
the view runs (400 for bad parameters or malformed JSON, 422 for a body that breaks
its schema); a ``form`` operation takes ``multipart/form-data`` instead (file parts
and text parts checked against the same kind of schema). :func:`document` builds the OpenAPI 3.1 description from the same
records, so the two cannot drift.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Callable

from flask import Blueprint, request

from . import schemas
from .auth import require_session
from .errors import ApiError, invalid, json_response

_PATH_PARAM = re.compile(r"<(?:(int|string):)?(\w+)>")


@dataclass(frozen=True)
class Operation:
    """One endpoint as the description shows it."""

    method: str
    rule: str
    name: str
    summary: str
    tag: str
    query: dict
    body: dict | None
    status: int
    response: str | None
    errors: tuple[int, ...]
    description: str = field(default="")
    media: tuple[str, ...] = field(default=())
    session_only: bool = field(default=False)
    form: dict | None = field(default=None)
    binary: bool = field(default=False)
    headers: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The OpenAPI path (``{name}`` parameters)."""
        return _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", self.rule)

    def path_params(self) -> dict[str, dict]:
        """Path parameter name → schema."""
        return {m.group(2): (schemas.ID if m.group(1) == "int" else
                             {"type": "string", "maxLength": 64})
                for m in _PATH_PARAM.finditer(self.rule)}


OPERATIONS: list[Operation] = []
#: Form fields that are not part of any operation's schema: a browser form's CSRF token.
IGNORED_FORM_FIELDS = ("csrf_token",)


def _body(schema: dict) -> dict:
    if not request.mimetype == "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "请求体须为 JSON — send a JSON body (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "bad_request", "请求体不是有效的 JSON — the body is not valid JSON")
    errors = schemas.validate(body, schema)
    if errors:
        raise invalid(422, "invalid_input", "请求体不符合要求 — the body does not match its "
                      "schema", errors)
    return body


def is_file_field(schema: dict) -> bool:
    """A multipart field that holds a file (``format: binary``)."""
    return schema.get("format") == "binary"


def _form_values(schema: dict) -> dict:
    """The parts of a ``multipart/form-data`` body, checked against ``schema``: file
    fields (``format: binary``) as werkzeug ``FileStorage`` objects with a file name,
    text fields converted like query parameters."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "请求体须为 multipart/form-data — send "
                       "the file as multipart/form-data")
    props, values, errors = schema["properties"], {}, []
    for key in request.form:
        if key in IGNORED_FORM_FIELDS:
            continue
        field_schema = props.get(key)
        if field_schema is None:
            errors.append((key, "is not a known field"))
            continue
        if is_file_field(field_schema):
            errors.append((key, "must be a file part (with a file name)"))
            continue
        raws = request.form.getlist(key)
        if len(raws) > 1:
            errors.append((key, "is given more than once"))
            continue
        try:
            values[key] = schemas.coerce(raws[0], field_schema)
        except ValueError as exc:
            errors.append((key, str(exc)))
            continue
        errors += schemas.validate(values[key], field_schema, key)
    for key in request.files:
        parts = request.files.getlist(key)
        if key not in props or not is_file_field(props[key]):
            errors.append((key, "is not a known file field"))
        elif len(parts) > 1:
            errors.append((key, "is given more than once"))
        elif not parts[0].filename:
            errors.append((key, "has no file name"))
        else:
            values[key] = parts[0]
    errors += [(k, "is required") for k in schema.get("required", ())
               if k not in values and not any(p == k for p, _m in errors)]
    if errors:
        raise invalid(422, "invalid_input", "表单不符合要求 — the form does not match its "
                      "schema", errors)
    return values


def _path_values(op: Operation, kwargs: dict) -> None:
    for name, schema in op.path_params().items():
        if schemas.validate(kwargs.get(name), schema):
            raise ApiError(404, "not_found", f"没有该对象 — no such {name}", {name: kwargs[name]})


def operation(bp: Blueprint, method: str, rule: str, *, summary: str, tag: str,
              query: dict | None = None, body: dict | None = None, status: int = 200,
              response: str | None = None, errors: tuple[int, ...] = (),
              description: str = "", media: tuple[str, ...] = (),
              session_only: bool = False, form: dict | None = None, binary: bool = False,
              headers: dict | None = None) -> Callable:
    """Register the decorated view for ``method rule`` under ``/api/v1``; it receives the
    path parameters, ``query`` (a dict) when declared and ``body`` when declared, and
    returns the payload (serialised as JSON with ``status``) — or, for an operation
    declaring other ``media`` types (text exports), its own Response. A
    ``session_only`` operation refuses bearer tokens (403 ``session_required``) before
    anything else is looked at. A ``form`` operation receives ``form`` (the parts of a
    ``multipart/form-data`` body, see :func:`_form_values`). ``binary`` describes the
    ``media`` as raw bytes; ``headers`` (name → description) the success response's
    headers."""

    def decorate(view: Callable) -> Callable:
        op = Operation(method, "/v1" + rule, view.__name__, summary, tag, query or {}, body,
                       status, response, errors, description or (view.__doc__ or "").strip(),
                       media, session_only, form, binary, dict(headers or {}))
        OPERATIONS.append(op)

        @functools.wraps(view)
        def wrapper(**kwargs):
            if op.session_only:
                require_session()
            _path_values(op, kwargs)
            if op.query:
                values, problems = schemas.parse_query(request.args, op.query)
                if problems:
                    raise invalid(400, "invalid_parameter", "查询参数无效 — invalid query "
                                  "parameter", problems)
                kwargs["query"] = values
            if op.body is not None:
                kwargs["body"] = _body(op.body)
            if op.form is not None:
                kwargs["form"] = _form_values(op.form)
            result = view(**kwargs)
            if media:
                return result
            if status == 204:
                return "", 204
            return json_response(result, status)

        bp.add_url_rule(op.rule, endpoint=op.name, view_func=wrapper, methods=[method])
        return wrapper

    return decorate


ERROR_TEXT = {400: "Malformed request: bad query parameter, bad JSON or CSRF failure",
              401: "No valid session or bearer token (code token_expired: the token has "
                   "expired)",
              403: "The role does not allow it (code session_required: bearer tokens may "
                   "not do this; code field_not_editable: the data holds a field the "
                   "caller may not set in this state — details: field, and fields mapping "
                   "each refused field to the roles that may set it)",
              404: "Not found, or not visible to this user (another unit's instance)",
              409: "Conflict: stale expected_version, or the trigger does not leave this state",
              413: "Too large: the file exceeds the attachment limit, or the request the "
                   "server's limit (details: max_bytes)",
              415: "The body is not JSON", 422: "The body or the data breaks a rule",
              500: "Server fault (code attachment_unavailable: the stored file is missing "
                   "or no longer matches its SHA-256)"}
FORM_ERROR_TEXT = {415: "The body is not multipart/form-data",
                   422: "The form breaks its schema (no file part, an unknown field), or "
                        "the file is refused: its type, its content, empty (details: "
                        "allowed_types, max_bytes)"}


def _operation_doc(op: Operation) -> dict:
    params = [{"name": n, "in": "path", "required": True, "schema": s}
              for n, s in op.path_params().items()]
    params += [{"name": n, "in": "query", "required": False, "schema": s}
               for n, s in op.query.items()]
    codes = {401, *op.errors}
    if op.session_only:
        codes.add(403)
    if op.query:
        codes.add(400)
    if op.body is not None:
        codes.update((400, 415, 422))
    if op.form is not None:
        codes.update((400, 413, 415, 422))
    if op.method in ("POST", "PUT", "DELETE", "PATCH"):
        codes.add(400)  # CSRF, for session-authenticated calls
    if op.path_params():
        codes.add(404)
    media_schema = {"type": "string", "format": "binary"} if op.binary else {"type": "string"}
    content = ({m: {"schema": media_schema} for m in op.media} if op.media else
               {"application/json": {"schema": schemas.ref(op.response) if op.response
                                     else {"type": "object"}}})
    success = ({"description": "No content"} if op.status == 204 else
               {"description": "OK", "content": content})
    if op.headers:
        success["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                              for name, text in op.headers.items()}
    responses = {str(op.status): success}
    texts = {**ERROR_TEXT, **(FORM_ERROR_TEXT if op.form is not None else {})}
    for code in sorted(codes):
        responses[str(code)] = {"description": texts.get(code, "Error"), "content": {
            "application/json": {"schema": schemas.ref("Error")}}}
    doc = {"operationId": op.name, "summary": op.summary, "tags": [op.tag],
           "parameters": params, "responses": responses}
    if op.description:
        doc["description"] = op.description
    if op.session_only:
        doc["security"] = [{"cookieAuth": []}]
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": op.body}}}
    if op.form is not None:
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": op.form}}}
    return doc


def document() -> dict:
    """The OpenAPI 3.1 description of every registered operation."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault("/api" + op.path, {})[op.method.lower()] = _operation_doc(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "perfeval API", "version": "1",
                 "description": "绩效评估工作流 JSON API. Errors are always "
                                "{\"error\": {\"code\", \"message\", \"details\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas.COMPONENTS, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A personal API token (perfeval tokens create)"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "perfeval_session"}}},
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }
