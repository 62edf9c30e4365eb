"""Account pages: list, create, change role, reset password, deactivate. Admins only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.access import role_required
from webapp.extensions import db
from webapp.models import Role, User
from webapp.models.types import utcnow
from webapp.paging import requested_page
from webapp.users import bp, service
from webapp.users.forms import (
    AccountFilterForm,
    ButtonForm,
    PasswordForm,
    RoleForm,
    UserCreateForm,
)

UNPROCESSABLE = 422


@bp.before_request
@role_required(Role.ADMIN)
def require_admin() -> None:
    """Every page of this blueprint is for administrators only (403 for others)."""


@bp.get("/")
def index() -> str:
    """The accounts by email address, a page at a time, searched and filtered by role
    and status."""
    form = AccountFilterForm(request.args)
    form.validate()
    page = service.account_page(
        requested_page(request.args), form.search(), form.chosen_role(), form.chosen_active()
    )
    args = form.url_args()
    return render_template(
        "users/index.html",
        form=form,
        page=page,
        filtered=bool(args),
        page_url=lambda number: url_for(".index", page=number, **args),
    )


@bp.route("/new", methods=["GET", "POST"])
def create() -> Response | tuple[str, int]:
    """Create an account."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(
                form.email.data or "", Role(form.role.data), form.password.data or ""
            )
        except service.AccountError as error:
            form.email.errors = [*form.email.errors, str(error)]
        else:
            flash(f"Created the account {user.email} ({user.role}).", "success")
            return redirect(url_for(".manage", user_id=user.id))
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_template("users/new.html", form=form), status


def _manage_page(user: User, status: int = 200, **forms: object) -> tuple[str, int]:
    context = {
        "role_form": RoleForm(role=user.role),
        "password_form": PasswordForm(),
        "button_form": ButtonForm(),
        "failures": service.failed_sign_ins(user),
        "now": utcnow(),
    }
    context.update(forms)
    return render_template("users/manage.html", user=user, **context), status


@bp.get("/<int:user_id>")
def manage(user_id: int) -> tuple[str, int]:
    """One account, with its role, password and activation controls."""
    return _manage_page(db.get_or_404(User, user_id))


@bp.post("/<int:user_id>/role")
def change_role(user_id: int) -> Response | tuple[str, int]:
    """Change the account's role; the last active administrator keeps theirs."""
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            service.set_role(user, Role(form.role.data))
        except service.AccountError as error:
            form.role.errors = [str(error)]
            return _manage_page(user, 409, role_form=form)
        flash(f"{user.email} is now {user.role}.", "success")
        return redirect(url_for(".manage", user_id=user.id))
    return _manage_page(user, UNPROCESSABLE, role_form=form)


@bp.post("/<int:user_id>/password")
def reset_password(user_id: int) -> Response | tuple[str, int]:
    """Set a new password for the account and end its sessions."""
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            service.set_password(user, form.password.data or "")
        except service.AccountError as error:
            form.password.errors = [str(error)]
        else:
            flash(f"Set a new password for {user.email}; their sessions have ended.", "success")
            if user.id == current_user.id:
                return redirect(url_for("auth.login"))
            return redirect(url_for(".manage", user_id=user.id))
    return _manage_page(user, UNPROCESSABLE, password_form=form)


@bp.post("/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response | tuple[str, int]:
    """Deactivate the account: it can no longer log in, its sessions end at once."""
    user = db.get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        service.deactivate(user)
    except service.AccountError as error:
        flash(str(error), "error")
        return _manage_page(user, 409)
    flash(f"Deactivated {user.email}.", "success")
    return redirect(url_for(".manage", user_id=user.id))


@bp.post("/<int:user_id>/activate")
def activate(user_id: int) -> Response:
    """Let a deactivated account log in again."""
    user = db.get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    service.activate(user)
    flash(f"Activated {user.email}.", "success")
    return redirect(url_for(".manage", user_id=user.id))


@bp.post("/<int:user_id>/unlock")
def unlock(user_id: int) -> Response:
    """Lift every sign-in wait on the account, from every address."""
    user = db.get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    service.unlock(user)
    flash(f"Lifted the sign-in waits on {user.email}.", "success")
    return redirect(url_for(".manage", user_id=user.id))


@bp.post("/<int:user_id>/two-factor/reset")
def reset_two_factor(user_id: int) -> Response:
    """Turn the account's two-factor sign-in off (a lost phone) and end its sessions."""
    user = db.get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    service.reset_two_factor(user)
    flash(
        f"Two-factor sign-in is off for {user.email}; their sessions have ended. "
        "They log in with their password and can set it up again.",
        "success",
    )
    return redirect(url_for(".manage", user_id=user.id))
