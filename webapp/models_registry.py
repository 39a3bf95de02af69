"""Import every table module so that SQLModel.metadata holds the whole schema."""

from accounts import models as accounts_models
from accounts.api_tokens import models as api_token_models
from rubrics import models as rubrics_models
from surveys import models as surveys_models
from surveys.cycles import models as cycles_models
from surveys.double import models as double_models
from surveys.evidence import models as evidence_models
from surveys.plan import models as plan_models
from surveys.reminders import models as reminders_models
from surveys.review import models as review_models

__all__ = [
    "accounts_models",
    "api_token_models",
    "cycles_models",
    "double_models",
    "evidence_models",
    "plan_models",
    "reminders_models",
    "review_models",
    "rubrics_models",
    "surveys_models",
]
