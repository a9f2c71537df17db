"""The API's one error shape: ``{"error": {"code", "message", "details"}}``.

:func:`error_response` turns any exception into that body with its status; the
application's error handlers (``web/errors.py``) call it for every request under
``/api/`` so no HTML page and no stack trace ever reaches an API client. Unexpected
exceptions are logged with their traceback and answered with a bare 500.
"""

from __future__ import annotations

import json
import logging

from flask import Response, current_app, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from engine import WorkflowError
from engine.attachments import human_size

log = logging.getLogger(__name__)

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
              413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_input",
              429: "too_many_requests"}


class ApiError(Exception):
    """An error the API raises itself (bad parameters, an invalid body, no credentials)."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}


def invalid(status: int, code: str, message: str, errors: list[tuple[str, str]]) -> ApiError:
    """An :class:`ApiError` listing validation ``errors`` as ``details.errors``."""
    return ApiError(status, code, message,
                    {"errors": [{"path": p, "message": m} for p, m in errors]})


def is_api_request() -> bool:
    """True for requests under ``/api/``."""
    return request.path == "/api" or request.path.startswith("/api/")


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response (UTF-8, not ASCII-escaped)."""
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def _too_large() -> tuple[str, dict]:
    """The message and details of a request refused before it was read (larger than
    ``MAX_CONTENT_LENGTH``), naming the attachment limit as the upload page does."""
    config = current_app.config
    limit = config.get("ATTACHMENT_MAX_BYTES") or config.get("MAX_CONTENT_LENGTH")
    details = {"max_bytes": limit, "max_request_bytes": config.get("MAX_CONTENT_LENGTH")}
    if not limit:
        return "请求过大 — the request is too large", details
    return (f"请求过大:单个附件不得超过 {human_size(limit)} — the request is too large (a file "
            f"may have at most {limit} bytes)", details)


def _parts(exc: BaseException) -> tuple[int, str, str, dict, dict]:
    if isinstance(exc, ApiError):
        headers = {"WWW-Authenticate": 'Bearer realm="perfeval"'} if exc.status == 401 else {}
        return exc.status, exc.code, exc.message, exc.details, headers
    if isinstance(exc, WorkflowError):
        details = {k: v for k, v in exc.to_dict().items() if k not in ("code", "message")}
        if getattr(exc, "diagnostics", None):
            details["diagnostics"] = exc.diagnostics
        return exc.http_status, exc.code, exc.message, details, {}
    if isinstance(exc, CSRFError):
        return 400, "csrf_failed", ("缺少或错误的 CSRF 令牌 — missing or invalid CSRF token "
                                    f"(send X-CSRFToken): {exc.description}"), {}, {}
    if isinstance(exc, RequestEntityTooLarge):
        return 413, "payload_too_large", *_too_large(), {}
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="perfeval"'
        return (status, HTTP_CODES.get(status, "http_error"), exc.description or exc.name,
                {}, headers)
    log.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return 500, "internal_error", "服务器内部错误 — internal server error", {}, {}


def error_response(exc: BaseException) -> Response:
    """The JSON error response for ``exc``."""
    status, code, message, details, headers = _parts(exc)
    return json_response({"error": {"code": code, "message": message, "details": details}},
                         status, headers)
