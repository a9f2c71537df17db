"""The signed-in user's own account: changing the password.

A password change rotates the user's session token (every other session of theirs
ends) and keeps this session signed in on the new token.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from engine import InvalidInput
from engine.people import MIN_PASSWORD, authenticate, change_password

from .common import get_db

bp = Blueprint("account", __name__, url_prefix="/account")
REQUIRED = _l("请填写此项。")


class PasswordForm(FlaskForm):
    """Current password, and the new one twice."""

    current = PasswordField(_l("当前密码"), validators=[DataRequired(REQUIRED)])
    new = PasswordField(_l("新密码"), validators=[DataRequired(REQUIRED)])
    repeat = PasswordField(_l("再次输入新密码"), validators=[
        DataRequired(REQUIRED), EqualTo("new", _l("两次输入的新密码不一致。"))])


@bp.route("/password", methods=("GET", "POST"))
@login_required
def password():
    """Change one's own password (the other sessions of this user end)."""
    from ..auth import load_web_user, start_session

    from ..auth import _address, _record, is_locked

    form = PasswordForm()
    if form.validate_on_submit():
        # the current password is guessed no more freely here than at sign-in: failures
        # are recorded (kind "password") and count towards the same lock
        if is_locked(current_user.username, _address()):
            _record("password", "locked", current_user.username, current_user.id)
            flash(_("登录失败次数过多,请稍后再试。"), "error")
            return render_template("account/password.html", form=form,
                                   min_length=MIN_PASSWORD), 429
        outcome, who = authenticate(get_db(), current_user.username, form.current.data)
        if who is None:
            _record("password", outcome, current_user.username, current_user.id)
            form.current.errors = [*form.current.errors, _("当前密码不正确。")]
            return render_template("account/password.html", form=form,
                                   min_length=MIN_PASSWORD), 422
        try:
            change_password(get_db(), current_user.id, form.current.data, form.new.data)
        except InvalidInput as exc:
            form.new.errors = [*form.new.errors, exc.message]
        else:
            start_session(load_web_user(get_db(), current_user.id), keep_lang=session.get("lang"))
            flash(_("密码已修改,其他设备上的登录已失效。"), "ok")
            return redirect(url_for("account.password"))
    status = 422 if form.errors else 200
    return render_template("account/password.html", form=form, min_length=MIN_PASSWORD), status
