"""Login and logout."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from webapp.auth import bp, service
from webapp.auth.access import safe_next
from webapp.auth.forms import LoginForm, LogoutForm
from webapp.extensions import db, limiter
from webapp.models.types import utcnow

#: The same message for an unknown email, a wrong password and an inactive account.
LOGIN_FAILED = "The email or password is not right."


def _login_rate_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _locked_response(until: datetime) -> TooManyRequests:
    minutes = max(1, round((until - utcnow()).total_seconds() / 60))
    return TooManyRequests(
        "Too many failed logins for this account. For its protection it is locked until "
        f"{until:%H:%M} UTC (about {minutes} minute{'s' if minutes != 1 else ''}). "
        "Try again then, or ask an administrator to reset the password.",
        retry_after=until,
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login() -> Response | tuple[str, int] | str:
    """Show the login form; on success start a fresh session and go where the user was going."""
    form = LoginForm()
    target = safe_next(request.values.get("next"), url_for("students.index"))
    if current_user.is_authenticated:
        return redirect(target)
    if form.validate_on_submit():
        try:
            user = service.authenticate(
                form.email.data or "", form.password.data or "", client=request.remote_addr or "-"
            )
        except service.AccountLocked as locked:
            raise _locked_response(locked.until) from locked
        except service.InvalidCredentials:
            form.form_errors.append(LOGIN_FAILED)
        else:
            # A fresh session: nothing from before the login (fixation) survives it.
            session.clear()
            login_user(user)
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME idle
            flash(f"Welcome, {user.email}.", "success")
            return redirect(target)
    if request.method == "GET":
        form.next.data = target
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    """End the session for real: the account's session token changes, so a copy of the
    cookie taken before logout no longer works."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        current_user.end_sessions()
        db.session.commit()
        service.logger.info("Logout: user_id=%s", current_user.id)
    logout_user()
    session.clear()
    flash("You have been logged out.", "success")
    return redirect(url_for("auth.login"))
