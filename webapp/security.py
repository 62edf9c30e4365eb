"""HTTP security: response headers, proxy handling and trusted hosts.

Headers come from Flask-Talisman (the maintained extension for them), configured for a
site with no inline script and no framing:

* ``Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; ...``
* ``X-Frame-Options: DENY`` (for browsers without ``frame-ancestors``)
* ``X-Content-Type-Options: nosniff``
* ``Referrer-Policy: same-origin``: Flask-WTF's CSRF check on HTTPS needs a same-origin
  ``Referer``, so ``no-referrer`` would break every form.
* ``Strict-Transport-Security`` on HTTPS responses.

Every response except static files also gets ``Cache-Control: no-store``: pages show
personal data about children, which must not linger in shared or browser caches.
"""

from __future__ import annotations

from flask import Flask, request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

#: The Content-Security-Policy: everything from our own origin, nothing inline, no frames.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

talisman = Talisman()


def no_store(response: Response) -> Response:
    """Forbid caching of every response but static files (an ``after_request`` hook)."""
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def register_security(app: Flask) -> None:
    """Install the security headers, and ProxyFix when proxies are configured.

    Settings read (see the README's configuration table): ``FORCE_HTTPS`` (redirect HTTP
    to HTTPS), ``SESSION_COOKIE_SECURE``, ``HSTS_SECONDS``, ``PROXY_COUNT`` (how many
    reverse proxies stand in front; 0 trusts no ``X-Forwarded-*`` header).
    ``TRUSTED_HOSTS`` is Flask's own setting and needs nothing here.

    Args:
        app: the application being created.
    """
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",
        strict_transport_security=True,
        strict_transport_security_max_age=app.config["HSTS_SECONDS"],
        # Talisman would overwrite Flask's cookie settings: hand it ours.
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
    app.after_request(no_store)
    proxies = app.config["PROXY_COUNT"]
    if proxies:
        # Wrapping wsgi_app is Flask's documented way to add middleware; mypy sees a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # (see above)
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
