"""The account's own two-factor pages: status, set-up with a QR code, turning it off."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth import bp, service, two_factor
from webapp.auth.forms import CodeForm, ConfirmSetupForm
from webapp.auth.views import CODE_FAILED, throttled
from webapp.database import own_transactions
from webapp.extensions import limiter

#: Session key of the secret being set up, until its first code confirms it.
SETUP_SECRET = "two_factor_setup_secret"


def _rate_limit() -> str:
    return str(current_app.config["SECOND_FACTOR_RATE_LIMIT"])


def _status_page(disable_form: CodeForm | None = None, status: int = 200) -> tuple[str, int]:
    user = current_user._get_current_object()
    return render_template(
        "auth/two_factor.html",
        user=user,
        required=current_app.config["REQUIRE_2FA_FOR_ADMINS"] and user.role == "admin",
        remaining=two_factor.unused_recovery_codes(user) if user.two_factor else 0,
        disable_form=disable_form or CodeForm(),
    ), status


@bp.get("/account/two-factor")
def two_factor_status() -> tuple[str, int]:
    """Whether the account signs in with a second factor, and the controls to change it."""
    return _status_page()


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"])
@own_transactions
def two_factor_setup() -> Response | tuple[str, int]:
    """Show a new secret as a QR code; the app's first code turns two-factor sign-in on,
    and the recovery codes are shown, once."""
    user = current_user._get_current_object()
    if user.two_factor:
        return redirect(url_for(".two_factor_status"))
    secret = session.get(SETUP_SECRET)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = session[SETUP_SECRET] = two_factor.new_secret()
    form = ConfirmSetupForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(user, secret, form.code.data or "")
        except two_factor.InvalidCode:
            form.code.errors = [
                "This is not the code the app shows now. Check the app and try again."
            ]
        else:
            session.pop(SETUP_SECRET, None)
            return render_template("auth/recovery_codes.html", codes=codes), 200
    uri = two_factor.provisioning_uri(secret, user.email)
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr_code=two_factor.qr_code_data_uri(uri),
        secret=two_factor.grouped(secret),
    ), 422 if request.method == "POST" else 200


@bp.post("/account/two-factor/disable")
@limiter.limit(_rate_limit)
@own_transactions
def two_factor_disable() -> Response | tuple[str, int]:
    """Turn two-factor sign-in off, after a current code (refused for admins when required)."""
    user = current_user._get_current_object()
    form = CodeForm()
    if not user.two_factor:
        return redirect(url_for(".two_factor_status"))
    if form.validate_on_submit():
        try:
            two_factor.check_may_disable(user)
            two_factor.verify(user.id, form.code.data or "", request.remote_addr)
            two_factor.disable(user)
        except service.TooManyAttempts as wait:
            raise throttled(wait.until, "wrong codes for this account") from wait
        except two_factor.InvalidCode:
            form.code.errors = [CODE_FAILED]
        except two_factor.TwoFactorRequired:
            form.code.errors = ["Administrators must keep two-factor sign-in on here."]
        else:
            flash("Two-factor sign-in is off. You log in with your password alone.", "success")
            return redirect(url_for(".two_factor_status"))
    return _status_page(form, 422)
