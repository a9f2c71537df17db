"""The JSON API: ``/api/v1/…`` and its description at ``/api/openapi.json``.

One blueprint; every endpoint is declared with its schemas in :mod:`web.api.spec`.
Errors are always ``{"error": {"code", "message", "details"}}`` (see
:mod:`web.api.errors`; ``web/errors.py`` routes every ``/api/`` error there).
Authentication is a bearer token or the session (with CSRF): :mod:`web.api.auth`.
"""

from __future__ import annotations

from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)

# the modules register the routes
from . import (appeals, attachments, audit_anchors, auth, instances, me, org,  # noqa: E402
               results, systems)
from .errors import json_response  # noqa: E402
from .spec import document  # noqa: E402

bp.before_request(auth.authenticate)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description (public)."""
    return json_response(document())


__all__ = ["bp"]
