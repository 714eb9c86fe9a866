"""The service as a library: the grading service, the models every worker serves, API keys, the audit log,
objections and household batch jobs.

The HTTP layer (``api/``) wraps these and holds no business logic; the CLI uses them directly.
"""

from creditscore.service.grading import GradeQuery, GradingService, InvalidInline
from creditscore.service.models import ModelSet, current_scorers

__all__ = ["GradeQuery", "GradingService", "InvalidInline", "ModelSet", "current_scorers"]
