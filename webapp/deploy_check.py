"""``flask check-deploy``: find production misconfigurations before users do.

Modelled on Django's ``manage.py check --deploy``: each finding has an id, a level, a
message and a hint; errors make the command exit non-zero so a release pipeline stops.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

#: Secret keys seen in tutorials and examples; never acceptable in production.
KNOWN_WEAK_KEYS = {"dev", "development", "secret", "secret-key", "changeme", "change-me", "test"}
#: Shortest acceptable secret key, in characters (32 hex digits = 128 bits).
MIN_SECRET_KEY_LENGTH = 32
#: Least acceptable Shannon entropy of the key, in bits per character.
MIN_SECRET_KEY_ENTROPY = 3.0


@dataclass(frozen=True)
class Finding:
    """One problem found by :func:`run_checks`."""

    id: str
    level: Literal["ERROR", "WARNING"]
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.level} ({self.id}) {self.message}\n    HINT: {self.hint}"


def _entropy_bits_per_char(text: str) -> float:
    """Shannon entropy of ``text``'s characters, in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def check_secret_key(app: Flask) -> list[Finding]:
    """The key must exist, persist across workers and restarts, and be hard to guess."""
    key = str(app.config.get("SECRET_KEY") or "")
    if app.config.get("SECRET_KEY_SOURCE") == "random" or not key:
        return [
            Finding(
                "deploy.E001",
                "ERROR",
                "SECRET_KEY is not set: each process makes up its own, so sessions and "
                "CSRF tokens break across workers and restarts.",
                "Set SECRET_KEY to `python -c 'import secrets; print(secrets.token_hex(32))'`"
                " or run `make run` once to write instance/secret_key.",
            )
        ]
    if (
        key.lower() in KNOWN_WEAK_KEYS
        or len(key) < MIN_SECRET_KEY_LENGTH
        or _entropy_bits_per_char(key) < MIN_SECRET_KEY_ENTROPY
    ):
        return [
            Finding(
                "deploy.E002",
                "ERROR",
                f"SECRET_KEY is weak (under {MIN_SECRET_KEY_LENGTH} characters, too "
                "repetitive, or a well-known example value): sessions could be forged.",
                "Generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`.",
            )
        ]
    return []


def check_debug(app: Flask) -> list[Finding]:
    """Debug and testing modes must be off."""
    findings = []
    if app.debug:
        findings.append(
            Finding(
                "deploy.E003",
                "ERROR",
                "DEBUG is on: errors would show tracebacks and the debugger would run code.",
                "Unset FLASK_DEBUG and do not pass --debug in production.",
            )
        )
    if app.testing:
        findings.append(
            Finding(
                "deploy.E004",
                "ERROR",
                "TESTING is on: errors propagate instead of showing the error pages.",
                "Unset FLASK_TESTING.",
            )
        )
    return findings


def check_cookies_and_https(app: Flask) -> list[Finding]:
    """Cookies HttpOnly and Secure; HTTPS enforced; CSRF protection on."""
    config = app.config
    findings = []
    if not config.get("SESSION_COOKIE_HTTPONLY", True):
        findings.append(
            Finding(
                "deploy.E005",
                "ERROR",
                "SESSION_COOKIE_HTTPONLY is off: scripts could read the session cookie.",
                "Remove the setting; it is on by default.",
            )
        )
    if not config.get("WTF_CSRF_ENABLED", True):
        findings.append(
            Finding(
                "deploy.E006",
                "ERROR",
                "CSRF protection is off (WTF_CSRF_ENABLED): other sites could submit forms "
                "as a logged-in user.",
                "Remove the setting; it is on by default.",
            )
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        findings.append(
            Finding(
                "deploy.W001",
                "WARNING",
                "SESSION_COOKIE_SECURE is off: the session cookie is also sent over plain "
                "HTTP, where it can be read on the network.",
                "Serve the site over HTTPS and set SESSION_COOKIE_SECURE=1.",
            )
        )
    if not config.get("FORCE_HTTPS"):
        findings.append(
            Finding(
                "deploy.W002",
                "WARNING",
                "FORCE_HTTPS is off: HTTP requests are not redirected to HTTPS (HSTS is still "
                "sent on HTTPS responses).",
                "Redirect at the proxy, or set FORCE_HTTPS=1 (with PROXY_COUNT behind a proxy).",
            )
        )
    if config.get("SESSION_COOKIE_SAMESITE") not in {"Lax", "Strict"}:
        findings.append(
            Finding(
                "deploy.W003",
                "WARNING",
                "SESSION_COOKIE_SAMESITE is neither Lax nor Strict.",
                "Remove the setting; Lax is the default.",
            )
        )
    return findings


def check_hosts_and_limits(app: Flask) -> list[Finding]:
    """Trusted hosts set, request size limited."""
    findings = []
    if not app.config.get("TRUSTED_HOSTS"):
        findings.append(
            Finding(
                "deploy.W004",
                "WARNING",
                "TRUSTED_HOSTS is not set: any Host header is accepted, so links built from "
                "it (redirects) can be poisoned.",
                "Set TRUSTED_HOSTS to the site's host names, comma-separated.",
            )
        )
    if not app.config.get("MAX_CONTENT_LENGTH"):
        findings.append(
            Finding(
                "deploy.W005",
                "WARNING",
                "MAX_CONTENT_LENGTH is not set: a client can send request bodies of any size.",
                "Remove the override; the default is 1 MiB.",
            )
        )
    return findings


def check_database(app: Flask) -> list[Finding]:
    """PostgreSQL recommended; the schema must be at the migration head."""
    from webapp.health import database_status

    findings = []
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        findings.append(
            Finding(
                "deploy.W006",
                "WARNING",
                "The database is SQLite: fine for one machine, but it cannot be shared by "
                "several hosts and backups need care.",
                "Set DATABASE_URL to a PostgreSQL database for a multi-host deployment.",
            )
        )
    _, status = database_status()
    if status["status"] != "ok":
        findings.append(
            Finding(
                "deploy.E007",
                "ERROR",
                f"The database is not ready: {status.get('reason', status.get('status'))}.",
                "Run `flask db upgrade` and check DATABASE_URL.",
            )
        )
    return findings


CHECKS = (
    check_secret_key,
    check_debug,
    check_cookies_and_https,
    check_hosts_and_limits,
    check_database,
)


def run_checks(app: Flask) -> list[Finding]:
    """Run every deployment check against ``app`` (inside an app context).

    Returns:
        The findings, errors first.
    """
    findings = [finding for check in CHECKS for finding in check(app)]
    return sorted(findings, key=lambda finding: (finding.level != "ERROR", finding.id))


@click.command("check-deploy")
@with_appcontext
def check_deploy_command() -> None:
    """List production misconfigurations; exit 1 when any is an error.

    Checks the secret key, debug and testing modes, cookie flags, HTTPS, CSRF, trusted
    hosts, the request size limit, the database kind and whether it is at the migration
    head. Run it in the release step with the production environment.
    """
    findings = run_checks(current_app._get_current_object())  # type: ignore[attr-defined]  # (a LocalProxy; typed as Flask)
    for finding in findings:
        click.echo(str(finding))
    errors = sum(finding.level == "ERROR" for finding in findings)
    warnings = len(findings) - errors
    click.echo(f"System check identified {errors} error(s) and {warnings} warning(s).")
    if errors:
        raise SystemExit(1)
