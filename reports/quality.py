"""Rubric quality for one cycle: reliability, item statistics, self-versus-verified agreement
and agreement between evaluators (double verification).

Everything is assembled from the stored answers of the assessments the viewer may see
(``visible_assessments``), encoded once into the engine's answer matrices and scored once by the
vectorised engine; the statistics are the engine's (:mod:`evaluator.stats`) on those arrays. Each
figure carries its ``n`` and interval, or a sentence saying why there is none.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, col

from accounts.permissions import Principal, visible_assessments
from evaluator.results import (
    STATUS_ANSWERED,
    STATUS_DONT_KNOW,
    STATUS_NOT_APPLICABLE,
    STATUS_NOT_RELEVANT,
    STATUS_UNANSWERED,
    FloatArray,
    InsufficientDataError,
    ScoreResult,
)
from evaluator.scoring import score_responses
from evaluator.spec import KIND_MATURITY, KIND_SINGLE, KIND_YES_NO, ScoringSpec
from evaluator.stats import (
    agreement,
    cohen_kappa_bootstrap,
    cohen_kappa_bootstraps,
    cronbach_alpha,
    cronbach_alpha_bootstrap,
    cronbach_alpha_bootstraps,
    icc,
    item_distribution,
    krippendorff_alpha_bootstrap,
    krippendorff_alpha_bootstraps,
    mean_bootstraps,
)
from reports.numbers import number
from rubrics.loader import compile_spec, encode_answers
from rubrics.models import RubricVersion
from rubrics.schema import Rubric
from rubrics.services import rubric_of
from surveys.double.models import DoubleVerification, SecondRating
from surveys.double.services import done_pairs
from surveys.models import Answer, Assessment, AssessmentCycle, Source, Status
from surveys.scoring import SCORED_STATUSES, carry_over, stored_matrix, stored_values

# The fewest subjects (or pairs) from which a figure is shown at all.
MIN_SUBJECTS = 5
MIN_PAIRS = 5
RESAMPLES = 1000  # bootstrap resamples per interval: seeded, so a page reads the same twice
SEED = 20070601
ORDINAL_KINDS = (KIND_MATURITY, KIND_SINGLE, KIND_YES_NO)


@dataclass(frozen=True)
class Figure:
    """A number with its n and interval, or a note saying why there is none."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0
    note: str = ""

    @property
    def shown(self) -> bool:
        return self.value is not None


def _too_few(n: int, minimum: int, what: str) -> Figure:
    return Figure(
        n=n,
        note=_(
            "Too few data: %(n)s %(what)s, at least %(min)s are needed.",
            n=n,
            what=what,
            min=minimum,
        ),
    )


@dataclass(frozen=True)
class ItemLine:
    question_id: str
    label: str
    item_total: float | None
    alpha_if_deleted: float | None
    lowers: bool  # dropping the item would raise alpha


@dataclass(frozen=True)
class DomainReliability:
    code: str
    label: str
    n_items: int
    alpha: Figure
    items: list[ItemLine]


@dataclass(frozen=True)
class QuestionLine:
    question_id: str
    label: str
    domain: str
    n: int
    answered: int
    not_applicable: float
    dont_know: float
    unanswered: float
    not_relevant: float
    categories: list[tuple[str, int]]
    floor: float | None
    ceiling: float | None
    flag: str  # "floor", "ceiling", "no spread" or ""


@dataclass(frozen=True)
class IndicatorAgreement:
    code: str
    label: str
    n_pairs: int  # assessments with both a self and a verified indicator score
    mean_gap: Figure  # self - verified, indicator score points
    kappa: Figure  # quadratic-weighted, over question levels
    icc: Figure  # ICC(2,1) on indicator scores


@dataclass(frozen=True)
class RaterAgreement:
    code: str
    label: str
    krippendorff: Figure  # ordinal, over question ratings
    icc: Figure  # ICC(2,1) on scores


@dataclass
class QualityReport:
    cycle: AssessmentCycle
    rubric: Rubric
    language: str
    n_assessments: int
    domains: list[DomainReliability] = field(default_factory=list)
    questions: list[QuestionLine] = field(default_factory=list)
    n_verified: int = 0
    self_verified: list[IndicatorAgreement] = field(default_factory=list)
    over_rating: str = ""
    n_double: int = 0
    raters: list[RaterAgreement] = field(default_factory=list)
    raters_overall: RaterAgreement | None = None
    # The page's charts (JSON, by name), drawn once per cached report: building Plotly figures
    # costs more than reading the cached report. Shared by the copies a cache hit returns.
    charts: dict[str, str] = field(default_factory=dict)


# --- arrays from stored answers ---------------------------------------------------------------


def cycle_assessment_ids(session: Session, cycle_id: int, viewer: Principal) -> list[int]:
    """The cycle's submitted assessments the viewer may see, by id."""
    query = (
        sa.select(col(Assessment.id))
        .where(
            col(Assessment.cycle_id) == cycle_id,
            col(Assessment.status).in_([s.value for s in SCORED_STATUSES]),
            visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        )
        .order_by(col(Assessment.id))
    )
    return list(session.execute(query).scalars())


def answer_matrix(
    session: Session, rubric: Rubric, ids: list[int], source: Source = Source.SELF
) -> FloatArray:
    """The engine's answer matrix of these assessments (rows in the order of ``ids``)."""
    return stored_matrix(session, rubric, ids, source)


def ordinal_values(spec: ScoringSpec, matrix: FloatArray) -> FloatArray:
    """Each answer on the rubric's scale where the question is ordinal (a maturity level, or the
    score of the chosen option); NaN elsewhere and where there is no answer."""
    out = np.full(matrix.shape, np.nan)
    finite = np.isfinite(matrix)
    for j, kind in enumerate(spec.kinds):
        if not spec.scored[j] or kind not in ORDINAL_KINDS:
            continue
        rows = finite[:, j]
        if kind == KIND_MATURITY:
            out[rows, j] = matrix[rows, j]
        else:
            index = matrix[rows, j].astype(np.int64)
            out[rows, j] = spec.option_scores[j, index]
    return out


def _answered_scores(result: ScoreResult) -> FloatArray:
    return np.where(result.question_status == STATUS_ANSWERED, result.question_scores, np.nan)


# --- statistics, remembered by their data ----------------------------------------------------

# Engine results by (function, options, the bytes of the arrays): a statistic whose data did not
# change is not recomputed, e.g. after one answer changes only the intervals of its domain and
# indicator are, and a page in another language recomputes nothing. Results are frozen (shared
# safely); the seeds are fixed, so a remembered result is the one a new computation gives.
_STATS: OrderedDict[bytes, tuple[bool, Any]] = OrderedDict()
_STATS_SIZE = 4096
_STATS_LOCK = Lock()


def _remembered(function: Callable[..., Any], *arrays: Any, **options: Any) -> Any:
    """``function(*arrays, **options)``, or its remembered result (or InsufficientDataError)."""
    digest = hashlib.blake2b(function.__qualname__.encode(), digest_size=20)
    digest.update(repr(sorted(options.items())).encode())
    for array in arrays:
        data = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(repr(data.shape).encode())
        digest.update(data.tobytes())
    key = digest.digest()
    with _STATS_LOCK:
        found = _STATS.get(key)
        if found is not None:
            _STATS.move_to_end(key)
    if found is None:
        try:
            found = (True, function(*arrays, **options))
        except InsufficientDataError as exc:
            found = (False, exc)
        with _STATS_LOCK:
            _STATS[key] = found
            while len(_STATS) > _STATS_SIZE:
                _STATS.popitem(last=False)
    ok, value = found
    if not ok:
        raise value
    return value


# --- the report -------------------------------------------------------------------------------


# Reports by (cycle, the viewer's assessments, language, stamp of their data): a page asked again
# with nothing changed is not recomputed. The key holds the viewer's assessment ids, so a report
# is never served to someone who sees other assessments; the stamp moves with any answer, second
# rating or status change, so a stale report is never served either.
_CACHE: OrderedDict[tuple[Any, ...], QualityReport] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = Lock()
_COMPUTING: dict[tuple[Any, ...], Lock] = {}  # the keys being computed, each with its gate


def data_stamp(session: Session, ids: list[int]) -> tuple[Any, ...]:
    """What changes whenever anything the report reads changes."""
    answers = session.execute(
        sa.select(
            sa.func.count(), sa.func.max(col(Answer.updated_at)), sa.func.sum(col(Answer.version))
        ).where(col(Answer.assessment_id).in_(ids))
    ).one()
    doubles = session.execute(
        sa.select(
            sa.func.count(col(SecondRating.id)),
            sa.func.max(col(SecondRating.updated_at)),
            sa.func.sum(col(DoubleVerification.version)),
        )
        .select_from(DoubleVerification)
        .outerjoin(SecondRating, col(SecondRating.double_id) == col(DoubleVerification.id))
        .where(col(DoubleVerification.assessment_id).in_(ids))
    ).one()
    statuses = session.execute(
        sa.select(sa.func.sum(col(Assessment.lock_version))).where(col(Assessment.id).in_(ids))
    ).scalar()
    return (*(str(x) for x in answers), *(str(x) for x in doubles), str(statuses))


def quality_report(
    session: Session, cycle: AssessmentCycle, *, viewer: Principal, language: str
) -> QualityReport:
    """The cycle's quality report over the assessments ``viewer`` may see (cached, see above)."""
    ids = cycle_assessment_ids(session, cycle.id, viewer)  # type: ignore[arg-type]
    key = (cycle.id, cycle.rubric_version_id, tuple(ids), language, data_stamp(session, ids))
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return dataclasses.replace(found, cycle=cycle)
        gate = _COMPUTING.setdefault(key, Lock())
    # One computation per key at a time: requests that arrive while it runs wait for it and
    # take its result, rather than each computing the same report on the same cores.
    with gate:
        with _CACHE_LOCK:
            found = _CACHE.get(key)
        if found is not None:
            return dataclasses.replace(found, cycle=cycle)
        try:
            report = _compute(session, cycle, ids, language)
            with _CACHE_LOCK:
                _CACHE[key] = report
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        finally:
            with _CACHE_LOCK:
                _COMPUTING.pop(key, None)
    return report


def _compute(
    session: Session, cycle: AssessmentCycle, ids: list[int], language: str
) -> QualityReport:
    version = session.get(RubricVersion, cycle.rubric_version_id)
    rubric = rubric_of(version)  # type: ignore[arg-type]
    if language not in rubric.languages:
        language = rubric.default_language
    spec = compile_spec(rubric)
    report = QualityReport(cycle=cycle, rubric=rubric, language=language, n_assessments=len(ids))
    if not ids:
        return report
    own = answer_matrix(session, rubric, ids)
    scored = score_responses(spec, own)
    report.domains = domain_reliability(rubric, spec, scored, language)
    report.questions = question_lines(rubric, spec, own, scored, language)
    self_verified(session, report, rubric, spec, ids, own, scored)
    between_evaluators(session, report, rubric, spec, ids)
    return report


def domain_reliability(
    rubric: Rubric, spec: ScoringSpec, scored: ScoreResult, language: str
) -> list[DomainReliability]:
    scores = _answered_scores(scored)
    question_domain = spec.indicator_domain[spec.question_indicator]
    labels = {q.id: rubric.text(q.label, language) for _, _, q in rubric.questions()}
    shared = _shared_alphas(scores, spec, question_domain, len(rubric.domains))
    found = []
    for d, domain in enumerate(rubric.domains):
        columns = np.flatnonzero((question_domain == d) & spec.scored)
        items = scores[:, columns]
        complete = int((~np.isnan(items).any(axis=1)).sum()) if columns.size else 0
        lines: list[ItemLine] = []
        if columns.size < 2:
            figure = Figure(
                n=complete,
                note=_(
                    "Alpha needs two or more scored questions; this domain has %(n)s.",
                    n=int(columns.size),
                ),
            )
        elif complete < MIN_SUBJECTS:
            figure = _too_few(complete, MIN_SUBJECTS, _("assessments that answered every question"))
        else:
            try:
                boot = shared.get(d) or _remembered(
                    cronbach_alpha_bootstrap, items, n_resamples=RESAMPLES, rng=SEED + d
                )
                detail = _remembered(cronbach_alpha, items)
            except InsufficientDataError as exc:
                figure = Figure(n=complete, note=_("Not computable: %(why)s", why=str(exc)))
            else:
                figure = Figure(boot.estimate, boot.low, boot.high, complete)
                for k, j in enumerate(columns):
                    dropped = float(detail.alpha_if_deleted[k])
                    lines.append(
                        ItemLine(
                            question_id=spec.question_ids[j],
                            label=labels[spec.question_ids[j]],
                            item_total=float(detail.item_total[k]),
                            alpha_if_deleted=None if np.isnan(dropped) else dropped,
                            lowers=bool(dropped > detail.alpha + 1e-9),
                        )
                    )
        found.append(
            DomainReliability(
                code=domain.id,
                label=rubric.text(domain.label, language),
                n_items=int(columns.size),
                alpha=figure,
                items=lines,
            )
        )
    return found


def _alphas(*scales: FloatArray, **options: Any) -> list[Any]:
    return cronbach_alpha_bootstraps(scales, **options)


def _shared_alphas(
    scores: FloatArray, spec: ScoringSpec, question_domain: Any, n_domains: int
) -> dict[int, Any]:
    """The alpha intervals of the domains that share their complete subjects, each group from
    one set of resamples (:func:`~evaluator.stats.cronbach_alpha_bootstraps`): one draw for all
    the domains everyone answered, not one per domain. Domains left out (too few items or
    subjects, or a group the engine refuses) are bootstrapped one by one by the caller."""
    groups: dict[bytes, tuple[Any, list[int]]] = {}
    for d in range(n_domains):
        columns = np.flatnonzero((question_domain == d) & spec.scored)
        complete = ~np.isnan(scores[:, columns]).any(axis=1)
        if columns.size >= 2 and int(complete.sum()) >= MIN_SUBJECTS:
            groups.setdefault(np.packbits(complete).tobytes(), (complete, []))[1].append(d)
    found: dict[int, Any] = {}
    for complete, domains in groups.values():
        if len(domains) < 2:
            continue
        scales = [
            scores[complete][:, np.flatnonzero((question_domain == d) & spec.scored)]
            for d in domains
        ]
        try:
            results = _remembered(_alphas, *scales, n_resamples=RESAMPLES, rng=SEED + domains[0])
        except InsufficientDataError:
            continue
        found.update(zip(domains, results, strict=True))
    return found


def question_lines(
    rubric: Rubric, spec: ScoringSpec, own: FloatArray, scored: ScoreResult, language: str
) -> list[QuestionLine]:
    status = scored.question_status
    n = status.shape[0]
    shares = {
        code: (status == code).mean(axis=0)
        for code in (
            STATUS_NOT_APPLICABLE,
            STATUS_DONT_KNOW,
            STATUS_UNANSWERED,
            STATUS_NOT_RELEVANT,
        )
    }
    answered = (status == STATUS_ANSWERED).sum(axis=0)
    lines = []
    for j, (domain, _indicator, question) in enumerate(rubric.questions()):
        if not spec.scored[j]:
            continue
        categories: list[tuple[str, int]] = []
        floor = ceiling = None
        flag = ""
        kind = spec.kinds[j]
        if kind in ORDINAL_KINDS:
            column = np.where(status[:, j] == STATUS_ANSWERED, own[:, j], np.nan)[:, None]
            if kind == KIND_MATURITY:
                levels = [lv.level for lv in question.levels] or list(
                    range(int(spec.scale_min), int(spec.scale_max) + 1)
                )
                names = [str(lv) for lv in levels]
            else:
                levels = list(range(len(question.options)))
                names = [rubric.text(o.label, language) for o in question.options]
            dist = item_distribution(column, levels)
            categories = list(zip(names, dist.counts[0].tolist(), strict=True))
            if dist.n_answered[0]:
                floor, ceiling = float(dist.floor[0]), float(dist.ceiling[0])
            if dist.no_spread[0]:
                flag = _("no spread: every answer is the same")
            elif dist.flagged_ceiling[0]:
                share = format(ceiling or 0.0, ".0%")
                flag = _("ceiling: %(share)s at the top", share=share)
            elif dist.flagged_floor[0]:
                share = format(floor or 0.0, ".0%")
                flag = _("floor: %(share)s at the bottom", share=share)
        lines.append(
            QuestionLine(
                question_id=question.id,
                label=rubric.text(question.label, language),
                domain=rubric.text(domain.label, language),
                n=n,
                answered=int(answered[j]),
                not_applicable=float(shares[STATUS_NOT_APPLICABLE][j]),
                dont_know=float(shares[STATUS_DONT_KNOW][j]),
                unanswered=float(shares[STATUS_UNANSWERED][j]),
                not_relevant=float(shares[STATUS_NOT_RELEVANT][j]),
                categories=categories,
                floor=floor,
                ceiling=ceiling,
                flag=flag,
            )
        )
    return lines


def _kappas(*arrays: FloatArray, **options: Any) -> list[Any]:
    pairs = list(zip(arrays[::2], arrays[1::2], strict=True))
    return cohen_kappa_bootstraps(pairs, "quadratic", **options)


def _means(*columns: FloatArray, **options: Any) -> list[Any]:
    return mean_bootstraps(np.column_stack(columns), **options)


def _kappa_figures(pairs: list[tuple[FloatArray, FloatArray]]) -> list[Figure]:
    """Quadratic-weighted kappa (with its bootstrap interval) of each indicator's paired levels.

    The indicators with the same number of complete pairs share one set of resamples, drawn
    from a seed that depends only on that number (:func:`~evaluator.stats.cohen_kappa_bootstraps`):
    each interval is the one a call for its indicator alone would give, one draw for all. A group
    the engine refuses (one indicator with a single category, say) is bootstrapped one by one
    from the same seed."""
    figures: list[Figure | None] = [None] * len(pairs)
    groups: dict[int, list[tuple[int, FloatArray, FloatArray, list[float]]]] = {}
    for k, (a, b) in enumerate(pairs):
        keep = ~(np.isnan(a) | np.isnan(b))
        n = int(keep.sum())
        if n < MIN_PAIRS:
            figures[k] = _too_few(n, MIN_PAIRS, _("rated pairs"))
            continue
        categories = sorted({float(x) for x in np.concatenate([a[keep], b[keep]])})
        groups.setdefault(n, []).append((k, a[keep], b[keep], categories))
    for n, members in groups.items():
        options = {"n_resamples": RESAMPLES, "rng": SEED + n}
        arrays = [x for _k, a, b, _c in members for x in (a, b)]
        try:
            found = _remembered(_kappas, *arrays, categories=[c for *_x, c in members], **options)
        except InsufficientDataError:
            found = None
        for s, (k, a, b, categories) in enumerate(members):
            try:
                boot = (
                    found[s]
                    if found is not None
                    else _remembered(
                        cohen_kappa_bootstrap,
                        a,
                        b,
                        weights="quadratic",
                        categories=categories,
                        **options,
                    )
                )
            except InsufficientDataError as exc:
                figures[k] = Figure(n=n, note=_("Not computable: %(why)s", why=str(exc)))
                continue
            figures[k] = Figure(boot.estimate, boot.low, boot.high, n)
    return [f for f in figures if f is not None]


def _icc_figure(a: FloatArray, b: FloatArray) -> Figure:
    keep = ~(np.isnan(a) | np.isnan(b))
    n = int(keep.sum())
    if n < MIN_PAIRS:
        return _too_few(n, MIN_PAIRS, _("assessments scored by both"))
    try:
        form = _remembered(icc, np.column_stack([a[keep], b[keep]]))["ICC2"]
    except InsufficientDataError as exc:
        return Figure(n=n, note=_("Not computable: %(why)s", why=str(exc)))
    return Figure(form.value, form.ci[0], form.ci[1], n)


def _gap_figures(pairs: list[tuple[FloatArray, FloatArray]]) -> list[Figure]:
    """The mean self-minus-verified gap of each indicator with its bootstrap interval; the
    indicators with the same number of complete pairs share one set of resamples
    (:func:`~evaluator.stats.mean_bootstraps`), drawn from a seed that depends only on it."""
    figures: list[Figure | None] = [None] * len(pairs)
    groups: dict[int, list[tuple[int, FloatArray]]] = {}
    for k, (a, b) in enumerate(pairs):
        keep = ~(np.isnan(a) | np.isnan(b))
        n = int(keep.sum())
        if n < MIN_PAIRS:
            figures[k] = _too_few(n, MIN_PAIRS, _("assessments scored by both"))
            continue
        gaps = a[keep] - b[keep]
        if np.ptp(gaps) == 0:
            figures[k] = Figure(float(gaps[0]), float(gaps[0]), float(gaps[0]), n)
            continue
        groups.setdefault(n, []).append((k, gaps))
    for n, members in groups.items():
        found = _remembered(
            _means, *[gaps for _k, gaps in members], n_resamples=RESAMPLES, rng=SEED + n
        )
        for (k, _gaps), boot in zip(members, found, strict=True):
            figures[k] = Figure(boot.estimate, boot.low, boot.high, n)
    return [f for f in figures if f is not None]


def self_verified(
    session: Session,
    report: QualityReport,
    rubric: Rubric,
    spec: ScoringSpec,
    ids: list[int],
    own: FloatArray,
    scored: ScoreResult,
) -> None:
    """Per indicator: the NGOs' self-ratings against the verified ratings."""
    # Completed verifications only: a review in progress holds some verified ratings, not all.
    done = set(
        session.execute(
            sa.select(col(Assessment.id)).where(
                col(Assessment.id).in_(ids), col(Assessment.status) == Status.VERIFIED
            )
        ).scalars()
    )
    with_answers = (
        set(
            session.execute(
                sa.select(col(Answer.assessment_id))
                .where(
                    col(Answer.assessment_id).in_(sorted(done)),
                    col(Answer.source) == Source.VERIFIED,
                )
                .distinct()
            ).scalars()
        )
        if done
        else set()
    )
    rows = [k for k, i in enumerate(ids) if i in with_answers]
    report.n_verified = len(rows)
    if not rows:
        return
    verified = stored_matrix(session, rubric, [ids[k] for k in rows], Source.VERIFIED)
    checked = score_responses(spec, verified)
    self_levels = ordinal_values(spec, own[rows])
    verified_levels = ordinal_values(spec, verified)
    self_ind = scored.indicator_scores[rows]
    verified_ind = checked.indicator_scores
    labels = {i.id: rubric.text(i.label, report.language) for _, i, _q in rubric.questions()}
    columns = [np.flatnonzero(spec.question_indicator == k) for k in range(len(spec.indicator_ids))]
    kappas = _kappa_figures(
        [(self_levels[:, c].ravel(), verified_levels[:, c].ravel()) for c in columns]
    )
    gaps = _gap_figures(
        [(self_ind[:, k], verified_ind[:, k]) for k in range(len(spec.indicator_ids))]
    )
    for k, code in enumerate(spec.indicator_ids):
        report.self_verified.append(
            IndicatorAgreement(
                code=code,
                label=labels[code],
                n_pairs=int((~(np.isnan(self_ind[:, k]) | np.isnan(verified_ind[:, k]))).sum()),
                mean_gap=gaps[k],
                kappa=kappas[k],
                icc=_icc_figure(self_ind[:, k], verified_ind[:, k]),
            )
        )
    try:
        overall = agreement(self_ind, verified_ind, indicator_ids=spec.indicator_ids)
    except InsufficientDataError:
        return
    test = overall.over_rating
    if test is not None and overall.n_pairs >= MIN_PAIRS:
        gap, p = number(test.median_difference, 1), format(test.pvalue, ".3g")
        report.over_rating = _(
            "Across %(n)s indicator pairs, the median self-score is %(gap)s points above the "
            "verified one (one-sided Wilcoxon signed-rank test of over-rating, p = %(p)s; pairs "
            "from one NGO are not independent, so read p as descriptive).",
            n=overall.n_pairs,
            gap=gap,
            p=p,
        )


def between_evaluators(
    session: Session,
    report: QualityReport,
    rubric: Rubric,
    spec: ScoringSpec,
    ids: list[int],
) -> None:
    """Krippendorff's alpha (ordinal, question ratings) and ICC (scores) between the two
    evaluators of the doubly verified assessments, on exactly the questions both rated."""
    second_values = done_pairs(session, ids)
    double_ids = [i for i in ids if second_values.get(i)]
    report.n_double = len(double_ids)
    if not double_ids:
        return
    # The first evaluator's answers restricted to what the second rated: both score the same.
    first = stored_matrix(session, rubric, double_ids, Source.VERIFIED, only=second_values)
    second = encode_answers(
        rubric, [carry_over(rubric, second_values[i]) for i in double_ids], strict=False
    )
    first_levels, second_levels = ordinal_values(spec, first), ordinal_values(spec, second)
    first_scored, second_scored = score_responses(spec, first), score_responses(spec, second)
    labels = {i.id: rubric.text(i.label, report.language) for _, i, _q in rubric.questions()}
    shown = []
    for k in range(len(spec.indicator_ids)):
        columns = np.flatnonzero(spec.question_indicator == k)
        rated = ~(np.isnan(first_levels[:, columns]) | np.isnan(second_levels[:, columns]))
        if rated.any():  # not doubly verified anywhere: left out, not shown as zero
            shown.append((k, columns))
    alphas = _krippendorff_figures(
        [(first_levels[:, c].ravel(), second_levels[:, c].ravel()) for _k, c in shown]
    )
    for (k, _columns), alpha in zip(shown, alphas, strict=True):
        code = spec.indicator_ids[k]
        report.raters.append(
            RaterAgreement(
                code=code,
                label=labels[code],
                krippendorff=alpha,
                icc=_icc_figure(
                    first_scored.indicator_scores[:, k], second_scored.indicator_scores[:, k]
                ),
            )
        )
    report.raters_overall = RaterAgreement(
        code="",
        label=_("All indicators"),
        krippendorff=_krippendorff_figure(first_levels.ravel(), second_levels.ravel(), SEED),
        icc=_icc_figure(first_scored.overall, second_scored.overall),
    )


def _krippendorffs(*datas: FloatArray, **options: Any) -> list[Any]:
    return krippendorff_alpha_bootstraps(datas, "ordinal", **options)


def _krippendorff_figures(pairs: list[tuple[FloatArray, FloatArray]]) -> list[Figure]:
    """Krippendorff's alpha (ordinal) of each indicator's two evaluators, with its interval; the
    indicators with the same number of questions rated by both share one set of resamples drawn
    from a seed that depends only on that number
    (:func:`~evaluator.stats.krippendorff_alpha_bootstraps`), so each interval is the one its
    indicator alone gives; a group the engine refuses is bootstrapped one by one."""
    figures: list[Figure | None] = [None] * len(pairs)
    groups: dict[int, list[tuple[int, FloatArray]]] = {}
    for k, (a, b) in enumerate(pairs):
        keep = ~(np.isnan(a) | np.isnan(b))
        n = int(keep.sum())
        if n < MIN_PAIRS:
            figures[k] = _too_few(n, MIN_PAIRS, _("questions rated by both"))
            continue
        groups.setdefault(n, []).append((k, np.vstack([a[keep], b[keep]])))
    for n, members in groups.items():
        options = {"n_resamples": RESAMPLES, "rng": SEED + n}
        try:
            found = _remembered(_krippendorffs, *[data for _k, data in members], **options)
        except InsufficientDataError:
            found = None
        for s, (k, data) in enumerate(members):
            try:
                boot = (
                    found[s]
                    if found is not None
                    else _remembered(krippendorff_alpha_bootstrap, data, level="ordinal", **options)
                )
            except InsufficientDataError as exc:
                figures[k] = Figure(n=n, note=_("Not computable: %(why)s", why=str(exc)))
                continue
            figures[k] = Figure(boot.estimate, boot.low, boot.high, n)
    return [f for f in figures if f is not None]


def _krippendorff_figure(a: FloatArray, b: FloatArray, seed: int) -> Figure:
    keep = ~(np.isnan(a) | np.isnan(b))
    n = int(keep.sum())
    if n < MIN_PAIRS:
        return _too_few(n, MIN_PAIRS, _("questions rated by both"))
    data = np.vstack([a[keep], b[keep]])
    try:
        boot = _remembered(
            krippendorff_alpha_bootstrap, data, level="ordinal", n_resamples=RESAMPLES, rng=seed
        )
    except InsufficientDataError as exc:
        return Figure(n=n, note=_("Not computable: %(why)s", why=str(exc)))
    return Figure(boot.estimate, boot.low, boot.high, n)


def rater_arrays(
    session: Session, rubric: Rubric, ids: list[int]
) -> tuple[list[int], FloatArray, FloatArray]:
    """The two evaluators' ordinal ratings of the doubly verified assessments among ``ids``
    (for tests and exports: the arrays the page's statistics are computed on)."""
    spec = compile_spec(rubric)
    second_values = done_pairs(session, ids)
    double_ids = [i for i in ids if second_values.get(i)]
    first_values = stored_values(session, double_ids, Source.VERIFIED)
    first = encode_answers(
        rubric,
        [{q: v for q, v in first_values[i].items() if q in second_values[i]} for i in double_ids],
        strict=False,
    )
    second = encode_answers(rubric, [second_values[i] for i in double_ids], strict=False)
    return double_ids, ordinal_values(spec, first), ordinal_values(spec, second)
