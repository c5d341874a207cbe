"""parboard's features. The tenant configuration (tenants/config.py) checks the sections of a province that other
features own with the checks those features register here, so that it imports none of them: any import of a
feature module runs this first."""

from backend.domain.remedies.deadlines import holiday_problems
from backend.domain.submissions.calendar import calendar_section_problems
from backend.domain.tenants.config import SECTION_CHECKS

SECTION_CHECKS["holidays"] = holiday_problems
SECTION_CHECKS["calendar"] = calendar_section_problems
