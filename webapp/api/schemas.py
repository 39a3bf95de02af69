"""The API's request and response models (pydantic v2): they validate what comes in, shape what
goes out, and are the schemas of the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from accounts.inputs import MAX_ID
from rubrics.codebook import SharedIndicator
from rubrics.schema import CODE_PATTERN, Code, Rubric


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC): say so (RFC 3339 needs an offset)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[datetime, AfterValidator(_aware)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Query(BaseModel):
    """Query parameters: an unknown one is refused (a misspelt filter would else be ignored)."""

    model_config = ConfigDict(extra="forbid")


class NoQuery(_Query):
    """No parameters."""


class ScoresQuery(_Query):
    lang: str | None = Field(
        default=None, max_length=8, description="The language of the labels (e.g. `el`)"
    )


class PageQuery(_Query):
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{8}$",
        description="Where the page starts: the cursor in the previous page's `next` link.",
    )
    limit: int = Field(default=50, ge=1, le=200, description="Items per page.")


class Page(BaseModel):
    next: str | None = Field(description="The address of the next page; null on the last.")


# --- organisations --------------------------------------------------------------------------


class OrganisationQuery(PageQuery):
    q: str | None = Field(default=None, max_length=100, description="Words in the name, ...")
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2")
    kind: str | None = Field(default=None, max_length=32)
    focus: str | None = Field(default=None, max_length=32, description="A focus area code")
    language: str | None = Field(default=None, max_length=8)


class Organisation(BaseModel):
    """A directory profile, as the token's person may see it: the fields an organisation keeps
    to its own people are null for everyone else."""

    id: int
    name: str
    names: dict[str, str]
    kind: str
    country: str | None
    focus_areas: list[str]
    visibility: str
    active: bool
    cities: list[str] | None
    services: list[str] | None
    languages: list[str] | None
    contact_email: str | None
    contact_phone: str | None
    website: str | None
    year_founded: int | None


class OrganisationPage(Page):
    items: list[Organisation]


# --- rubrics ----------------------------------------------------------------------------------


class RubricVersionSummary(BaseModel):
    id: int
    number: int
    status: Literal["draft", "published", "retired"] | str
    content_hash: str
    created_at: Moment
    published_at: Moment | None


class RubricSummary(BaseModel):
    id: int
    code: str
    title: str
    versions: list[RubricVersionSummary]


class RubricPage(Page):
    items: list[RubricSummary]


class RubricVersionOut(RubricVersionSummary):
    code: str
    content: Rubric = Field(
        description="The rubric document: the same model as the rubric YAML files "
        "(rubrics/rubric.schema.json)."
    )


# --- cycles -----------------------------------------------------------------------------------


class Cycle(BaseModel):
    id: int
    code: str
    name: str
    rubric: str
    rubric_version: int
    opens_on: date | None
    closes_on: date | None
    assessments: int = Field(description="Assessments the token's person may see")
    submitted: int
    verified: int


class CyclePage(Page):
    items: list[Cycle]


# --- assessments ------------------------------------------------------------------------------

Status = Literal["not_started", "in_progress", "submitted", "in_review", "verified", "returned"]


class AssessmentQuery(PageQuery):
    cycle: int | None = Field(default=None, ge=0, le=MAX_ID, description="A cycle id")
    organisation: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="An organisation id"
    )
    status: Status | None = None


class Assessment(BaseModel):
    id: int
    cycle_id: int
    cycle_code: str
    organisation_id: int
    organisation_code: str
    organisation_name: str
    rubric_version_id: int
    status: str
    progress: float = Field(description="Answered share of the relevant required questions")
    submitted_at: Moment | None
    updated_at: Moment


class AssessmentPage(Page):
    items: list[Assessment]


class AnswersQuery(_Query):
    source: Literal["self", "verified"] = "self"


class Answer(BaseModel):
    question_id: str
    value: Any = Field(
        description="A maturity level (integer), an option id, a list of option ids, a "
        "number, a text, a date (YYYY-MM-DD), or `__na__` / `__dk__` for not applicable and "
        "don't know."
    )
    comment: str | None
    version: int = Field(description="Send it back with a change (compare-and-set)")
    updated_at: Moment
    indicator: str | None = Field(
        default=None,
        description="The shared indicator of the codebook (`/api/v1/codebook`) the question "
        "measures; null when it measures none.",
    )
    indicator_value: float | None = Field(
        default=None,
        description="The answer on the shared indicator's scale, mapped as the export by "
        "shared indicator maps it; null when the question measures no indicator, or the "
        "answer has no value on the scale (unanswered, not applicable, don't know, an option "
        "mapped to null).",
    )


class Answers(BaseModel):
    assessment_id: int
    source: str
    status: str
    answers: list[Answer]


class AnswerChange(_In):
    question_id: Code
    value: Any = Field(
        default=None, description="The new answer; null clears it; absent: the answer is kept."
    )
    comment: str | None = Field(
        default=None,
        max_length=5000,
        pattern=r"^[^\x00]*$",
        description="Absent: the comment is kept; null clears it.",
    )
    version: int | None = Field(
        ge=0,
        le=MAX_ID,
        description="The version of the answer the change is based on (null: there was none).",
    )


class AnswersUpdate(_In):
    answers: list[AnswerChange] = Field(min_length=1, max_length=500)


class AnswersSaved(BaseModel):
    assessment_id: int
    status: str
    progress: float
    saved: list[str]
    unchanged: list[str]
    ignored: list[str] = Field(description="Questions hidden by the answers (relevance): not saved")
    answers: list[Answer] = Field(description="The answers sent, as stored now")


class Submitted(BaseModel):
    assessment: Assessment


# --- scores -----------------------------------------------------------------------------------


class ScoreLine(BaseModel):
    code: str
    label: str
    score: float | None = Field(description="0-100; null when there is no score (see reason)")
    coverage: float | None
    reason: str | None
    weight: float


class ScoreSet(BaseModel):
    overall: ScoreLine | None
    band: str | None
    domains: list[ScoreLine]
    indicators: dict[str, list[ScoreLine]] = Field(description="Domain code -> its indicators")


class Scores(BaseModel):
    assessment_id: int
    rubric_version_id: int
    language: str
    self_assessed: ScoreSet = Field(alias="self")
    verified: ScoreSet | None = Field(description="Once the review is complete")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


# --- exports ------------------------------------------------------------------------------------


class ExportQuery(_Query):
    cycle: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="A cycle id (default: the first one seen)"
    )
    version: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="The rubric version of the scores"
    )
    lang: str | None = Field(default=None, max_length=8)
    shape: Literal["wide", "long"] = "wide"
    values: Literal["codes", "labels"] = "codes"
    status: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=2)
    type: str | None = Field(default=None, max_length=32)
    focus: str | None = Field(default=None, max_length=32)


class SharedExportQuery(_Query):
    """The export by shared indicator's parameters: those of the page's download."""

    shape: Literal["long", "wide"] = Field(
        default="long",
        description="long: one row per assessment and shared indicator; wide: one row per "
        "assessment, two columns per indicator (self-assessed and verified).",
    )
    status: Literal["", "scored", "verified"] = Field(
        default="", description="Empty: every status; scored: submitted and later; verified."
    )
    cycle: list[Annotated[int, Field(ge=0, le=MAX_ID)]] = Field(
        default_factory=list,
        max_length=100,
        description="Cycle ids, repeated (`cycle=1&cycle=2`); none: every cycle you may see.",
    )
    indicator: list[Annotated[str, Field(pattern=CODE_PATTERN, max_length=64)]] = Field(
        default_factory=list,
        max_length=200,
        description="Shared indicator codes, repeated; none: every indicator of the codebook.",
    )
    lang: str | None = Field(
        default=None, max_length=8, description="The language of the value labels"
    )


class CodebookOut(BaseModel):
    """The shared indicator codebook in use: the same model as `rubrics/codebook.yaml`
    (`rubrics/codebook.schema.json`); a binary scale lists its two values."""

    revision: int = Field(description="0: the codebook shipped with the platform")
    version: str | None
    languages: list[str]
    indicators: list[SharedIndicator]


class ApiIndex(BaseModel):
    openapi: str
    docs: str
    resources: dict[str, str]
