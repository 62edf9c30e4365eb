"""The application's models. Import them from here so that Alembic sees every table."""

from webapp.models import search_index  # noqa: F401  (the search index's DDL for create_all)
from webapp.models.audit import Action, AuditBatch, AuditEvent, Entity
from webapp.models.enrollment import STATUS_LABELS, Enrollment, EnrollmentCount, Status
from webapp.models.imports import ImportMapping, PendingImport, PendingImportPage
from webapp.models.rollover import Rollover
from webapp.models.school_year import SchoolYear
from webapp.models.signin import LoginThrottle, RecoveryCode, Step
from webapp.models.student import Student
from webapp.models.user import Role, User

__all__ = [
    "STATUS_LABELS",
    "Action",
    "AuditBatch",
    "AuditEvent",
    "Enrollment",
    "EnrollmentCount",
    "Entity",
    "ImportMapping",
    "LoginThrottle",
    "PendingImport",
    "PendingImportPage",
    "RecoveryCode",
    "Role",
    "Rollover",
    "SchoolYear",
    "Status",
    "Step",
    "Student",
    "User",
]
