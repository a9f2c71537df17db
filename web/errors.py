"""Error pages in the user's language; engine errors mapped by their HTTP status.

No stack trace ever reaches the browser: unexpected exceptions are logged and shown
as a plain 500 page. Under ``/api/`` every error is JSON instead (``web.api.errors``).
"""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from engine import WorkflowError
from engine.attachments import human_size

from .api.errors import error_response, is_api_request

log = logging.getLogger(__name__)


def _titles() -> dict[int, str]:
    return {400: _("请求无效"), 401: _("请先登录"), 403: _("无权访问"), 404: _("页面不存在"),
            405: _("不支持的请求方式"), 409: _("数据已被他人修改或操作不可用"),
            413: _("上传的文件过大"), 422: _("无法执行该操作"), 429: _("请求过于频繁"),
            500: _("服务器内部错误")}


def render_error(status: int, detail: str | None = None):
    """The error page for ``status``."""
    title = _titles().get(status, _("出错了"))
    return render_template("error.html", status=status, title=title, detail=detail), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        if is_api_request():
            return error_response(exc)
        return render_error(400, _("表单已失效(缺少或错误的安全令牌),请刷新页面后重试。"))

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):
        if is_api_request():
            return error_response(exc)
        limit = app.config.get("ATTACHMENT_MAX_BYTES") or app.config["MAX_CONTENT_LENGTH"]
        return render_error(413, _("单个附件不得超过 %(size)s,请压缩或拆分后重新上传。",
                                   size=human_size(limit)))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if is_api_request():
            return error_response(exc)
        return render_error(exc.code or 500)

    @app.errorhandler(WorkflowError)
    def _workflow(exc: WorkflowError):
        if is_api_request():
            return error_response(exc)
        return render_error(exc.http_status, exc.message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if is_api_request():
            return error_response(exc)  # logs the traceback
        log.exception("unhandled error")
        return render_error(500)
