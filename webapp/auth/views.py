"""Login (password, then the second factor when the account has one) and logout."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from webapp.auth import bp, service, two_factor
from webapp.auth.access import safe_next
from webapp.auth.forms import LoginForm, LogoutForm, SignInCodeForm
from webapp.database import own_transactions
from webapp.extensions import db, limiter
from webapp.models import User
from webapp.models.types import utcnow

#: The same message for an unknown email, a wrong password and an inactive account.
LOGIN_FAILED = "The email or password is not right."
CODE_FAILED = "This code is not right, or was already used. Wait for the next code and try again."

#: Session key of a sign-in whose password was right and whose second factor is awaited.
PENDING = "pending_login"
#: Seconds the second step may take after the password step.
PENDING_SECONDS = 300


def _login_rate_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _second_factor_rate_limit() -> str:
    return str(current_app.config["SECOND_FACTOR_RATE_LIMIT"])


def throttled(until: datetime, what: str) -> TooManyRequests:
    """The 429 for a throttled sign-in step, with ``Retry-After``.

    Args:
        until: when the next attempt is allowed (aware UTC).
        what: what failed too often, for the message ("failed logins with this email").
    """
    seconds = max(1, round((until - utcnow()).total_seconds()))
    wait = f"{seconds} seconds" if seconds < 90 else f"about {round(seconds / 60)} minutes"
    return TooManyRequests(
        f"Too many {what} from your network. Wait {wait} (until {until:%H:%M:%S} UTC), "
        "then try again. An administrator can lift the wait from the Accounts page.",
        retry_after=seconds,
    )


def _finish_login(user: User, target: str) -> Response:
    """Start a fresh session for ``user`` and go to ``target``."""
    # A fresh session: nothing from before the login (fixation) survives it.
    session.clear()
    login_user(user)
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME idle
    service.record_login(user, request.remote_addr)
    flash(f"Welcome, {user.email}.", "success")
    return redirect(target)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
@own_transactions
def login() -> Response | tuple[str, int]:
    """Show the login form; on success start a fresh session (or ask for the second
    factor) and go where the user was going."""
    form = LoginForm()
    target = safe_next(request.values.get("next"), url_for("students.index"))
    if current_user.is_authenticated:
        return redirect(target)
    if form.validate_on_submit():
        try:
            user = service.authenticate(
                form.email.data or "", form.password.data or "", request.remote_addr
            )
        except service.TooManyAttempts as wait:
            raise throttled(wait.until, "failed logins with this email") from wait
        except service.InvalidCredentials:
            form.form_errors.append(LOGIN_FAILED)
        else:
            if not user.two_factor:
                return _finish_login(user, target)
            session.clear()
            session[PENDING] = {"user": user.get_id(), "since": time.time(), "next": target}
            return redirect(url_for(".second_factor"))
    if request.method == "GET":
        form.next.data = target
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _pending() -> tuple[int, str, str] | None:
    """The awaited sign-in: account id, session token and target; ``None`` if none or stale."""
    pending: Any = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user_id, _, token = str(pending.get("user", "")).partition(":")
    if not user_id.isdigit():
        return None
    return int(user_id), token, safe_next(pending.get("next"), url_for("students.index"))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_second_factor_rate_limit, methods=["POST"])
@own_transactions
def second_factor() -> Response | tuple[str, int]:
    """The second step of a sign-in: a code from the authenticator app or a recovery code."""
    pending = _pending()
    if pending is None:
        session.pop(PENDING, None)
        flash("Log in with your email and password first.", "info")
        return redirect(url_for(".login"))
    user_id, token, target = pending
    form = SignInCodeForm()
    if form.validate_on_submit():
        try:
            user = two_factor.verify(user_id, form.code.data or "", request.remote_addr)
        except service.TooManyAttempts as wait:
            raise throttled(wait.until, "wrong codes for this account") from wait
        except two_factor.InvalidCode:
            form.code.errors = [CODE_FAILED]
        else:
            if user.session_token != token or not user.active:
                session.pop(PENDING, None)
                return redirect(url_for(".login"))
            return _finish_login(user, target)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/second_factor.html", form=form), status


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
