"""The score summary (one row per assessment, rubric version and source, read by the dashboard)
equals what the ``score`` rows hold after every kind of write: submitting, returning and
resubmitting, verifying, rescoring, scoring under a new version, and direct writes of every
shape (ORM and bulk inserts, updates of a value, a level or a key, deletes, a deleted
assessment), bit for bit, and a rolled back write leaves it as it was."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from quick_check import ANSWERS
from sqlmodel import select

from accounts.models import Role
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.schema import parse_rubric
from surveys import answers as store
from surveys.models import Assessment, Score, ScoreSummary, Source
from surveys.questionnaire import services
from surveys.review import services as review
from surveys.scoring import rescore
from webapp.database import configure_engine

Key = tuple[int, int, str]


def expected(session) -> dict[Key, tuple[float | None, dict[str, float | None]]]:
    """The summaries computed here from the score rows: the overall score (the largest, as
    SQL's max) and the domain scores by code."""
    found: dict[Key, tuple[list[float], dict[str, float | None]]] = {}
    rows = session.execute(
        sa.select(
            Score.assessment_id, Score.rubric_version_id, Score.source,
            Score.level, Score.code, Score.score,
        ).where(Score.level.in_(("overall", "domain")))  # type: ignore[attr-defined]
    ).all()  # fmt: skip
    for assessment, version, source, level, code, score in rows:
        overall, domains = found.setdefault((assessment, version, source), ([], {}))
        if level == "overall":
            overall.extend([score] if score is not None else [])
        else:
            domains[code] = score
    return {key: (max(o) if o else None, d) for key, (o, d) in found.items()}


def summarised(session) -> dict[Key, tuple[float | None, dict[str, float | None]]]:
    session.expire_all()
    out = {}
    for row in session.exec(select(ScoreSummary)).all():
        codes, scores = json.loads(row.domain_codes), json.loads(row.domain_scores)
        assert len(codes) == len(scores)
        out[(row.assessment_id, row.rubric_version_id, row.source)] = (
            row.overall,
            dict(zip(codes, scores, strict=True)),
        )
    return out


def check(session) -> dict[Key, tuple[float | None, dict[str, float | None]]]:
    found = summarised(session)
    assert found == expected(session)
    return found


@pytest.fixture
def people(session, make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    ngo = make_user(email="ngo@example.org", role=Role.NGO_ADMIN, org=org)
    evaluator = make_user(email="eva@example.org", role=Role.ADMIN)
    return {"assessment": make_assessment(org=org), "ngo": ngo, "evaluator": evaluator}


def submit(session, assessment, user, values=ANSWERS, base=None):
    store.save_answers(session, assessment, values=values, base_versions=base or {}, user=user)
    assert services.submit(session, assessment, by=user) == []
    session.commit()


def test_submitting_returning_resubmitting_and_verifying_keep_it_equal(session, people):
    assessment, ngo, evaluator = people["assessment"], people["ngo"], people["evaluator"]
    assert check(session) == {}
    submit(session, assessment, ngo)
    first = check(session)
    assert len(first) == 1
    ((overall, domains),) = first.values()
    assert overall == pytest.approx(68.75)  # quick_check.ANSWERS
    assert set(domains) == {"SG", "SV", "RS"}
    review.start_review(session, assessment, by=evaluator)
    review.return_assessment(session, assessment, reason="Attach the records.", by=evaluator)
    session.commit()
    # Resubmitting deletes and rewrites the self scores (a lower answer: a lower score).
    submit(session, assessment, ngo, values={"SG1_policy": 1}, base={"SG1_policy": 1})
    second = check(session)
    assert next(iter(second.values()))[0] < overall
    review.start_review(session, assessment, by=evaluator)
    store.save_answers(
        session, assessment, values={"SG2_vetting": 1}, base_versions={}, user=evaluator,
        source=Source.VERIFIED,
    )  # fmt: skip
    review.complete_review(session, assessment, by=evaluator)
    session.commit()
    verified = check(session)
    assert {key[2] for key in verified} == {Source.SELF, Source.VERIFIED}


def test_rescoring_and_scoring_under_a_new_version_keep_it_equal(session, people):
    assessment = people["assessment"]
    submit(session, assessment, people["ngo"])
    session.execute(sa.update(Score).values(score=1.0))  # stale scores, rescored below
    session.commit()
    assert {o for o, _d in check(session).values()} == {1.0}
    assert rescore(session) == 1
    session.commit()
    assert [o for o, _d in check(session).values()] == [pytest.approx(68.75)]
    data = load_rubric("rubrics/library/quick-check.yaml").model_dump(
        mode="json", exclude_none=True
    )
    data["domains"][2]["indicators"][1]["questions"].pop()  # RS2_changes (unscored)
    version = rubric_services.store_rubric(session, parse_rubric(data))
    rubric_services.publish(session, version)  # scores earlier submissions under it
    session.commit()
    assert {key[1] for key in check(session)} == {version.id - 1, version.id}


def test_direct_writes_of_every_shape_keep_it_equal(session, people, database_url):
    assessment = people["assessment"]
    submit(session, assessment, people["ngo"])
    (key,) = check(session)
    aid, version, _source = key
    score = sa.table("score", sa.column("id"), sa.column("assessment_id"), sa.column("source"),
                     sa.column("level"), sa.column("code"), sa.column("score"))  # fmt: skip
    domain = (score.c.assessment_id == aid) & (score.c.level == "domain")
    writes = [
        # the demo's bulk updates: a value, and no score at all
        sa.update(score).where(domain & (score.c.code == "SG")).values(score=12.5),
        sa.update(score).where(domain & (score.c.code == "SV")).values(score=None),
        # a row leaves the summarised levels, and comes back
        sa.update(score).where(domain & (score.c.code == "RS")).values(level="indicator"),
        sa.update(score).where((score.c.code == "RS") & (score.c.level == "indicator")
                               & (score.c.assessment_id == aid)).values(level="domain"),
        # a row moves to another key (the verified source), and back
        sa.update(score).where(domain & (score.c.code == "SG")).values(source="verified"),
        sa.update(score).where(score.c.source == "verified").values(source="self"),
        # the overall score deleted, then every domain score: the summary goes
        sa.delete(score).where((score.c.assessment_id == aid) & (score.c.level == "overall")),
    ]  # fmt: skip
    for statement in writes:
        session.execute(statement)
        check(session)
    found = check(session)
    assert found[key] == (None, {"SG": 12.5, "SV": None, "RS": found[key][1]["RS"]})
    session.execute(sa.delete(score).where(domain))
    assert check(session) == {}
    # An ORM insert and a bulk insert of a new key; the indicator rows are not summarised.
    session.add(Score(assessment_id=aid, rubric_version_id=version, source="verified",
                      level="overall", code="quick-check", score=40.0))  # fmt: skip
    session.flush()
    session.execute(
        sa.insert(Score),
        [{"assessment_id": aid, "rubric_version_id": version, "source": "verified",
          "level": level, "code": code, "score": value}
         for level, code, value in (("domain", "SG", 30.0), ("indicator", "SG1", 10.0))],
    )  # fmt: skip
    assert check(session) == {(aid, version, "verified"): (40.0, {"SG": 30.0})}
    session.commit()
    # Deleting the assessment deletes its scores (a cascade), and so its summary. (The app's
    # engine: the test session's SQLite connection does not enforce foreign keys.)
    engine = sa.create_engine(database_url)
    configure_engine(engine)
    with engine.begin() as connection:
        connection.execute(sa.delete(Assessment).where(Assessment.id == aid))  # type: ignore[arg-type]
    engine.dispose()
    assert check(session) == {}


def test_scores_read_back_bit_for_bit_and_a_rollback_leaves_it_as_it_was(session, people):
    assessment = people["assessment"]
    submit(session, assessment, people["ngo"])
    (key,) = check(session)
    draw = random.Random(20261207)
    values = [draw.uniform(0, 100) for _ in range(3)]
    for code, value in zip(("SG", "SV", "RS"), values, strict=True):
        session.execute(
            sa.update(Score)
            .where(Score.assessment_id == key[0], Score.level == "domain", Score.code == code)  # type: ignore[arg-type]
            .values(score=value)
        )
    session.commit()
    exact = dict(zip(("SG", "SV", "RS"), values, strict=True))
    assert summarised(session)[key][1] == exact  # equal, not approximately
    before = check(session)
    session.execute(sa.update(Score).values(score=0.0))
    assert all(o == 0.0 for o, _d in summarised(session).values())
    session.rollback()
    assert check(session) == before


def test_two_writers_of_one_assessments_scores_at_once_leave_it_equal(session, people):
    """Two transactions write different domain scores of the same key at the same moment (a
    barrier releases them together, over several rounds): whichever commits last, the summary
    holds both (on PostgreSQL the second refresh waits for the first and reads afresh)."""
    assessment = people["assessment"]
    submit(session, assessment, people["ngo"])
    (key,) = check(session)
    engine = session.get_bind()
    for round_ in range(5):
        session.execute(sa.delete(Score).where(Score.source == "verified"))  # type: ignore[arg-type]
        session.commit()
        barrier = threading.Barrier(2)

        def write(code: str, value: float, barrier: threading.Barrier = barrier) -> None:
            with engine.connect() as connection:
                barrier.wait()
                with connection.begin():
                    connection.execute(
                        sa.insert(Score).values(
                            assessment_id=key[0], rubric_version_id=key[1], source="verified",
                            level="domain", code=code, score=value,
                            computed_at=datetime.now(UTC),
                        )
                    )  # fmt: skip

        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(write, "SG", 10.0 + round_), pool.submit(write, "SV", 20.0)]
            for future in done:
                future.result()
        found = check(session)
        assert found[(key[0], key[1], "verified")] == (None, {"SG": 10.0 + round_, "SV": 20.0})
