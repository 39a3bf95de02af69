"""Benchmark of rubric quality: the engine's vectorised bootstraps beside a plain loop,
Krippendorff's alpha beside the ``krippendorff`` package, and the quality and what-if pages for
500 NGOs x 50 questions through the app.

Each figure is printed beside its baseline from the same run (these machines are shared and
noisy: compare ratios, not absolute times across runs). Targets (issue 11): the quality page for
500 NGOs x 50 questions under 1 s of server time; ``krippendorff_alpha`` on 50 raters x 10,000
units (ordinal, missing values) equal to the ``krippendorff`` package to 1e-9.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask, jsonify
from werkzeug.wrappers import Response

from accounts import services as accounts
from accounts.models import Organization, Role
from accounts.permissions import public
from evaluator.results import InsufficientDataError
from evaluator.stats import (
    bootstrap_ci,
    cohen_kappa,
    cohen_kappa_bootstrap,
    cohen_kappa_bootstraps,
    cronbach_alpha,
    cronbach_alpha_bootstrap,
    krippendorff_alpha,
    krippendorff_alpha_bootstrap,
    krippendorff_alpha_bootstraps,
    mean_bootstraps,
)
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.schema import parse_rubric
from surveys.double.models import DoubleVerification, SecondRating
from surveys.models import Answer, Assessment, AssessmentCycle, Status
from webapp import create_app
from webapp.extensions import db
from webapp.migrate import upgrade_database

SEED = 20261207
RESAMPLES = 1000
N_ORGS = 500
N_DOMAINS = 10
REPEATS = 5
PASSWORD = "bench-password-1234"  # noqa: S105 (a throwaway account in a temporary file)


def _best(fn: Callable[[], Any], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


# --- the engine -------------------------------------------------------------------------------


def _loop(statistic: Callable[[np.ndarray], float], n: int) -> Callable[[], list[float]]:
    index = np.random.default_rng(1).integers(0, n, size=(RESAMPLES, n))

    def run() -> list[float]:
        out = []
        for rows in index:
            try:
                out.append(statistic(rows))
            except InsufficientDataError:
                continue
        return out

    return run


def engine() -> Iterator[tuple[str, str]]:
    rng = np.random.default_rng(SEED)
    latent = rng.normal(size=(N_ORGS, 1))
    items = np.clip(np.round(2.5 + latent + rng.normal(0, 0.8, (N_ORGS, 5))), 1, 4)
    fast = _best(lambda: cronbach_alpha_bootstrap(items, n_resamples=RESAMPLES, rng=1))
    slow = _best(_loop(lambda r: cronbach_alpha(items[r]).alpha, N_ORGS), 1)
    yield (
        f"alpha bootstrap, {N_ORGS} x 5, {RESAMPLES} resamples (baseline: loop)",
        f"{fast * 1000:7.1f} ms  (baseline {slow * 1000:.0f} ms; {slow / fast:.0f}x)",
    )
    a = items[:, 0].astype(int)
    b = np.clip(a + rng.integers(-1, 2, N_ORGS), 1, 4)
    scale = [1, 2, 3, 4]
    fast = _best(
        lambda: cohen_kappa_bootstrap(
            a, b, "quadratic", categories=scale, n_resamples=RESAMPLES, rng=1
        )
    )
    slow = _best(
        _loop(lambda r: cohen_kappa(a[r], b[r], "quadratic", categories=scale).kappa, N_ORGS), 1
    )
    yield (
        f"weighted kappa bootstrap, {N_ORGS} pairs (baseline: loop)",
        f"{fast * 1000:7.1f} ms  (baseline {slow * 1000:.0f} ms; {slow / fast:.0f}x)",
    )
    data = np.vstack([a, b]).astype(float)
    fast = _best(
        lambda: krippendorff_alpha_bootstrap(data, "ordinal", n_resamples=RESAMPLES, rng=1)
    )
    slow = _best(_loop(lambda r: krippendorff_alpha(data[:, r], "ordinal").alpha, N_ORGS), 1)
    yield (
        f"Krippendorff bootstrap, 2 x {N_ORGS} units (baseline: loop)",
        f"{fast * 1000:7.1f} ms  (baseline {slow * 1000:.0f} ms; {slow / fast:.0f}x)",
    )
    yield from batched()
    yield from krippendorff_package()


def batched() -> Iterator[tuple[str, str]]:
    """The quality page's per-indicator intervals: one shared draw for 10 indicators beside a
    call per indicator (the same intervals; tests/evaluator/test_stats_batched_bootstraps.py)."""
    rng = np.random.default_rng(SEED + 1)
    scale = [1.0, 2.0, 3.0, 4.0]
    pairs = []
    for _k in range(10):
        b = rng.integers(1, 5, 750).astype(float)
        pairs.append((np.clip(b + rng.integers(-1, 2, 750), 1, 4), b))
    options: dict[str, Any] = {"n_resamples": RESAMPLES, "rng": 1}
    fast = _best(
        lambda: cohen_kappa_bootstraps(pairs, "quadratic", categories=[scale] * 10, **options)
    )
    slow = _best(
        lambda: [
            cohen_kappa_bootstrap(a, b, "quadratic", categories=scale, **options) for a, b in pairs
        ]
    )
    yield (
        "10 weighted kappa intervals, 750 pairs each, shared draw (baseline: a call each)",
        f"{fast * 1000:7.1f} ms  (baseline {slow * 1000:.0f} ms; {slow / fast:.1f}x)",
    )
    gaps = np.column_stack([a[:250] - b[:250] for a, b in pairs])
    fast = _best(lambda: mean_bootstraps(gaps, **options))
    slow = _best(lambda: [bootstrap_ci(g, np.mean, method="percentile", **options) for g in gaps.T])
    yield (
        "10 mean-gap intervals, 250 pairs each, shared draw (baseline: bootstrap_ci each)",
        f"{fast * 1000:7.1f} ms  (baseline {slow * 1000:.0f} ms; {slow / fast:.1f}x)",
    )
    datas = [np.vstack([a[:100], b[:100]]) for a, b in pairs]
    fast = _best(lambda: krippendorff_alpha_bootstraps(datas, "ordinal", **options))
    slow = _best(lambda: [krippendorff_alpha_bootstrap(d, "ordinal", **options) for d in datas])
    yield (
        "10 Krippendorff intervals, 100 units each, shared draw (baseline: a call each)",
        f"{fast * 1000:7.1f} ms  (baseline {slow * 1000:.0f} ms; {slow / fast:.1f}x)",
    )


def krippendorff_package() -> Iterator[tuple[str, str]]:
    try:
        import krippendorff  # dev dependency
    except ImportError:  # pragma: no cover
        yield "krippendorff package", "not installed (pip install -e '.[dev]')"
        return
    rng = np.random.default_rng(SEED)
    truth = rng.integers(1, 6, 10_000)
    data = np.clip(truth[None, :] + rng.integers(-1, 2, (50, 10_000)), 1, 5).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    ours_value = krippendorff_alpha(data, "ordinal").alpha
    theirs_value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
    ours = _best(lambda: krippendorff_alpha(data, "ordinal"))
    theirs = _best(
        lambda: krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"), 2
    )
    yield (
        "krippendorff_alpha 50 x 10,000 ordinal, 30% missing (baseline: package)",
        f"{ours * 1000:7.1f} ms  (baseline {theirs * 1000:.0f} ms; ratio {ours / theirs:.2f})",
    )
    yield (
        "  same value as the package",
        f"|diff| = {abs(ours_value - theirs_value):.1e}  (alpha {ours_value:.6f}; target < 1e-9)",
    )


# --- the pages --------------------------------------------------------------------------------


def _rubric() -> Any:
    """quick-check's first domain with a fifth question, ten times over: 50 questions."""
    data = load_rubric(Path("rubrics/library/quick-check.yaml")).model_dump(
        mode="json", exclude_none=True
    )
    template = data["domains"][0]
    extra = copy.deepcopy(template["indicators"][0]["questions"][0])
    extra["id"] = "SG1_review"
    template["indicators"][0]["questions"].append(extra)
    domains = []
    for k in range(N_DOMAINS):
        domain = copy.deepcopy(template)
        domain["id"] = f"D{k:02d}"
        domain["label"] = {"en": f"Domain {k + 1}"}
        for indicator in domain["indicators"]:
            indicator["id"] = f"{indicator['id']}_{k}"
            for question in indicator["questions"]:
                question["id"] = f"{question['id']}_{k}"
                question.pop("indicator", None)  # a shared indicator is measured once a rubric
        domains.append(domain)
    data.update(id="bench-fifty", domains=domains)
    return parse_rubric(data)


def build(folder: Path) -> tuple[Flask, int, int]:
    url = f"sqlite:///{folder / 'bench-quality.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    rng = np.random.default_rng(SEED)
    rubric = _rubric()
    questions = [q for _, _, q in rubric.questions()]
    with app.app_context():
        upgrade_database(url)
        session = db.session
        version = rubric_services.store_rubric(session, rubric)
        rubric_services.publish(session, version)
        admin = accounts.create_user(session, email="admin@bench.test", name="A", password=PASSWORD)
        accounts.add_membership(session, user=admin, role=Role.ADMIN, organization=None)
        second = accounts.create_user(session, email="two@bench.test", name="B", password=PASSWORD)
        accounts.add_membership(session, user=second, role=Role.EVALUATOR, organization=None)
        session.flush()
        session.execute(
            sa.insert(Organization),
            [{"code": f"ngo-{i}", "name": f"NGO {i:05d}", "kind": "ngo", "country": "GR"}
             for i in range(N_ORGS)],
        )  # fmt: skip
        org_ids = session.execute(
            sa.select(Organization.id).where(Organization.kind == "ngo")  # type: ignore[arg-type]
        ).scalars().all()  # fmt: skip
        cycle = AssessmentCycle(
            code="c-2026", name="Cycle 2026", rubric_version_id=version.id,
            opens_on=date(2026, 1, 1),
        )  # fmt: skip
        session.add(cycle)
        session.flush()
        verified = rng.random(N_ORGS) < 1 / 3
        session.execute(
            sa.insert(Assessment),
            [{"cycle_id": cycle.id, "organization_id": org,
              "status": Status.VERIFIED if verified[i] else Status.SUBMITTED}
             for i, org in enumerate(org_ids)],
        )  # fmt: skip
        ids = session.execute(
            sa.select(Assessment.id).where(Assessment.cycle_id == cycle.id)  # type: ignore[arg-type]
            .order_by(Assessment.organization_id)  # type: ignore[arg-type]
        ).scalars().all()  # fmt: skip
        capacity = rng.normal(0, 1, N_ORGS)

        def value(question: Any, eta: float) -> Any:
            level = int(np.clip(np.round(2.5 + eta), 1, 4))
            if question.type == "yes_no":
                return "yes" if level >= 3 else "no"
            return level

        answers = []
        for i, assessment in enumerate(ids):
            for question in questions:
                eta = capacity[i] + rng.normal(0, 0.7)
                answers.append(
                    {
                        "assessment_id": assessment,
                        "source": "self",
                        "question_id": question.id,
                        "value": value(question, eta),
                    }
                )
                if verified[i]:
                    answers.append(
                        {
                            "assessment_id": assessment,
                            "source": "verified",
                            "question_id": question.id,
                            "value": value(question, eta - 0.3),
                        }
                    )
        session.execute(sa.insert(Answer), answers)  # fmt: skip
        doubled = [a for i, a in enumerate(ids) if verified[i]][:50]
        for assessment in doubled:
            row = DoubleVerification(
                assessment_id=assessment, second_evaluator_id=second.id, completed_at=sa.func.now()
            )
            session.add(row)
            session.flush()
            session.execute(
                sa.insert(SecondRating),
                [{"double_id": row.id, "question_id": q.id,
                  "value": value(q, float(capacity[ids.index(assessment)] + rng.normal(0, 0.7)))}
                 for q in questions],
            )  # fmt: skip
        session.commit()
        cycle_id, version_id = int(cycle.id or 0), int(version.id or 0)

    @public
    def bench_ping() -> Response:
        return jsonify(ok=True)

    app.add_url_rule("/bench/ping", "bench_ping", bench_ping)
    return app, cycle_id, version_id


def _times(client: Any, url: str) -> tuple[float, float, float]:
    """The first request's wall time, the median's, and the first one's CPU time (ms): on a
    shared machine the wall time is mostly waiting for a core, the CPU time is the work."""
    timed = []
    cpu = 0.0
    for k in range(REPEATS):
        started, used = time.perf_counter(), time.process_time()
        response = client.get(url)
        timed.append((time.perf_counter() - started) * 1000)
        if k == 0:
            cpu = (time.process_time() - used) * 1000
        assert response.status_code == 200, response.status_code
    return timed[0], statistics.median(timed), cpu


def _change_one_answer(app: Flask) -> str:
    """One self-assessed answer of one NGO, one level up or down (as an edit would)."""
    with app.app_context():
        session = db.session
        answer = session.execute(
            sa.select(Answer)
            .where(Answer.source == "self", Answer.question_id == "SG1_policy_3")  # type: ignore[arg-type]
            .limit(1)
        ).scalar_one()
        answer.value = 2 if answer.value != 2 else 3
        answer.version += 1
        session.commit()
        return answer.question_id


def pages() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app, cycle_id, version_id = build(Path(folder))
        yield f"{N_ORGS} NGOs x 50 questions written", f"{time.perf_counter() - started:.1f} s"
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post(
            "/login", data={"email": "admin@bench.test", "password": PASSWORD, "csrf_token": token}
        )
        _first, ping, _cpu = _times(client, "/bench/ping")
        cold, warm, cpu = _times(client, f"/reports/quality/cycles/{cycle_id}")
        yield (
            f"quality page, {N_ORGS} NGOs x 50 questions, first load (target < 1000 ms)",
            f"{cold:7.1f} ms  (CPU {cpu:.0f} ms; then cached, p50 {warm:.1f} ms; "
            f"baseline bare JSON {ping:.1f} ms)",
        )
        changed = _change_one_answer(app)
        started, used = time.perf_counter(), time.process_time()
        assert client.get(f"/reports/quality/cycles/{cycle_id}").status_code == 200
        yield (
            f"  again after one answer changed ({changed})",
            f"{(time.perf_counter() - started) * 1000:7.1f} ms  "
            f"(CPU {(time.process_time() - used) * 1000:.0f} ms: only its domain's and "
            "indicator's statistics are recomputed)",
        )
        cold, warm, _cpu = _times(client, f"/reports/what-if/{version_id}?d_D00=3&i_SG1_1=2")
        yield (
            f"what-if page, {N_ORGS} NGOs, p50 (baseline: bare JSON)",
            f"{warm:7.1f} ms  (baseline {ping:.1f} ms; first {cold:.0f} ms)",
        )


def run() -> Iterator[tuple[str, str]]:
    yield from engine()
    yield from pages()


if __name__ == "__main__":
    for label, figure in run():
        print(f"  {label:<72} {figure}")
