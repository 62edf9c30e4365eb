"""The application's models. Import them from here so that Alembic sees every table."""

from webapp.models import search_index  # noqa: F401  (the search index's DDL for create_all)
from webapp.models.audit import Action, AuditBatch, AuditEvent, Entity
from webapp.models.enrollment import STATUS_LABELS, Enrollment, EnrollmentCount, Status
from webapp.models.guardian import (
    Guardian,
    GuardianPhone,
    PhoneKind,
    Relationship,
    StudentGuardian,
)
from webapp.models.homeroom import Homeroom, homeroom_teachers
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
    "Guardian",
    "GuardianPhone",
    "Homeroom",
    "ImportMapping",
    "LoginThrottle",
    "PendingImport",
    "PendingImportPage",
    "PhoneKind",
    "RecoveryCode",
    "Relationship",
    "Role",
    "Rollover",
    "SchoolYear",
    "Status",
    "Step",
    "Student",
    "StudentGuardian",
    "User",
    "homeroom_teachers",
]
