"""Import every table module so that SQLModel.metadata holds the whole schema."""

from accounts import models as accounts_models
from rubrics import models as rubrics_models
from surveys import models as surveys_models
from surveys import review_models as surveys_review_models  # noqa: F401  (cycles, review, plan)

__all__ = ["accounts_models", "rubrics_models", "surveys_models"]
