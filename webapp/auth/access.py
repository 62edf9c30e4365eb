"""Who may see what: login required by default, roles per view, safe redirects.

Every endpoint needs a logged-in, active account except those in ``PUBLIC_ENDPOINTS``:
a route added later is protected without anyone remembering to protect it. Write views
additionally declare the role they need with :func:`role_required`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from webapp.extensions import login_manager
from webapp.models import Role

logger = logging.getLogger("webapp.auth")

#: Endpoints anyone may reach without logging in.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.second_factor", "health.healthz", "static"})

#: What an administrator without a second factor may reach when one is required.
ENROLMENT_ENDPOINTS = PUBLIC_ENDPOINTS | {
    "auth.logout",
    "auth.two_factor_status",
    "auth.two_factor_setup",
}

F = TypeVar("F", bound=Callable[..., Any])


def require_login() -> Any:
    """``before_request`` hook: send anonymous visitors to the login page.

    Returns:
        ``None`` to let the request through, or Flask-Login's redirect to
        ``/login?next=<path>``.
    """
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


def require_second_factor() -> Any:
    """``before_request`` hook: with ``REQUIRE_2FA_FOR_ADMINS``, an administrator without
    two-factor sign-in is sent to set it up, and may do nothing else until then.

    Returns:
        ``None`` to let the request through, or a redirect to the set-up page.
    """
    if (
        not current_app.config["REQUIRE_2FA_FOR_ADMINS"]
        or request.endpoint in ENROLMENT_ENDPOINTS
        or not current_user.is_authenticated
        or current_user.role != Role.ADMIN.value
        or current_user.two_factor
    ):
        return None
    flash("Administrators must set up two-factor sign-in before anything else.", "info")
    return redirect(url_for("auth.two_factor_setup"))


def role_required(role: Role) -> Callable[[F], F]:
    """Decorate a view so that only accounts with ``role`` or a higher one may use it.

    Others get a 403 page, and the refusal is logged.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                logger.warning(
                    "Denied: user_id=%s role=%s needs=%s %s %s",
                    current_user.id,
                    current_user.role,
                    role.value,
                    request.method,
                    request.path,
                )
                abort(403)
            return view(*args, **kwargs)

        # The role matrix test reads the attribute; functions take any attribute, but
        # their type does not declare it, and functools.wraps keeps the view's type only
        # in spirit (mypy sees the wrapper's own signature).
        wrapper.required_role = role  # type: ignore[attr-defined]  # (see above)
        return wrapper  # type: ignore[return-value]  # (see above)

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default``.

    Refuses absolute URLs, scheme-relative ``//host`` and backslash tricks (``/\\host``
    is read as ``//host`` by browsers): the classic open redirect through ``next``.
    """
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return default
    return target
