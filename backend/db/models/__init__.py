"""All mapped tables, imported in one place for Alembic and the application."""

from backend.db.base import Base
from backend.db.models.assessments import (
    AppraisedResult,
    Assessment,
    AssessmentItem,
    AssessmentStatus,
    ExternalScore,
    NotApplicableDecision,
)
from backend.db.models.audit import AuditEntry
from backend.db.models.auth import Invitation, LoginFlow, UserSession
from backend.db.models.criteria import CriteriaSet, Criterion
from backend.db.models.evidence import EvidenceFile, Submission, SubmissionStatus
from backend.db.models.people import Membership, Role, User
from backend.db.models.remedies import (
    BoardColumn,
    BoardRevision,
    CarriedTask,
    ChecklistItem,
    DirectoryRevision,
    RemedyPlan,
    Task,
    TaskAssignee,
    TaskComment,
    TaskKind,
    TaskUnit,
    UnitRole,
)
from backend.db.models.reports import ProgressReport
from backend.db.models.review import Appraisal, AppraisalItem, AppraisalStatus, EvidenceRequest
from backend.db.models.tenancy import (
    HomeConfigRevision,
    HomeRevision,
    LineageKind,
    Province,
    RankingGroup,
    ResultClass,
    RevisionBump,
    Tenant,
    TenantKind,
    TenantLineage,
    Unit,
    UnitGroup,
    UnitGroupMember,
    UnitKind,
)
from backend.db.models.tokens import ApiToken, TokenKind

__all__ = [
    "ApiToken",
    "Appraisal",
    "AppraisalItem",
    "AppraisalStatus",
    "AppraisedResult",
    "Assessment",
    "AssessmentItem",
    "AssessmentStatus",
    "AuditEntry",
    "Base",
    "BoardColumn",
    "BoardRevision",
    "CarriedTask",
    "ChecklistItem",
    "CriteriaSet",
    "Criterion",
    "DirectoryRevision",
    "EvidenceFile",
    "EvidenceRequest",
    "ExternalScore",
    "HomeConfigRevision",
    "HomeRevision",
    "Invitation",
    "LineageKind",
    "LoginFlow",
    "Membership",
    "NotApplicableDecision",
    "ProgressReport",
    "Province",
    "RankingGroup",
    "RemedyPlan",
    "ResultClass",
    "RevisionBump",
    "Role",
    "Submission",
    "SubmissionStatus",
    "Task",
    "TaskAssignee",
    "TaskComment",
    "TaskKind",
    "TaskUnit",
    "Tenant",
    "TenantKind",
    "TenantLineage",
    "TokenKind",
    "Unit",
    "UnitGroup",
    "UnitGroupMember",
    "UnitKind",
    "UnitRole",
    "User",
    "UserSession",
]
