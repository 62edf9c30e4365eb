"""The application's models. Import them from here so that Alembic sees every table."""

from webapp.models.audit import Action, AuditEvent
from webapp.models.imports import ImportMapping, PendingImport, PendingImportPage
from webapp.models.signin import LoginThrottle, RecoveryCode, Step
from webapp.models.student import Student
from webapp.models.user import Role, User

__all__ = [
    "Action",
    "AuditEvent",
    "ImportMapping",
    "LoginThrottle",
    "PendingImport",
    "PendingImportPage",
    "RecoveryCode",
    "Role",
    "Step",
    "Student",
    "User",
]
