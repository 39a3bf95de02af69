"""The ``date`` question type end to end: the rubric file, XLSForm both ways, the questionnaire
page (without the page's script), relevance on a date, the history and the review."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlmodel import select

from accounts.models import Role
from rubrics import services as rubric_services
from rubrics.loader import compile_spec, encode_answers, load_rubric_text
from rubrics.relevance import compile_relevance, evaluate_relevance
from rubrics.schema import RubricError
from rubrics.types import Shown, display
from rubrics.xlsform import export_xlsform, import_xlsform
from surveys import answers as store
from surveys.cycles import services as cycles
from surveys.models import Assessment
from surveys.questionnaire import services
from surveys.questionnaire.fields import display_answer
from surveys.review import services as review

DATED = """
id: dated
title: {en: Dated}
languages: [en]
default_language: en
scale: {min: 1, max: 4}
missing: {allow_not_applicable: true, allow_dont_know: true, not_applicable: exclude}
domains:
  - id: D
    label: {en: History}
    indicators:
      - id: I
        label: {en: Founding}
        questions:
          - id: founded
            type: date
            label: {en: "When was the organisation registered?"}
          - id: early
            type: text
            label: {en: "What did you do before 2020?"}
            relevant: "${founded} < date('2020-01-01')"
          - id: policy
            type: single
            label: {en: "Is there a written policy?"}
            options:
              - {id: "yes", label: {en: "Yes"}, score: 4}
              - {id: "no", label: {en: "No"}, score: 1}
"""


@pytest.fixture
def rubric():
    return load_rubric_text(DATED)


# --- the pure part --------------------------------------------------------------------------


def test_a_date_question_loads_from_a_rubric_file_unscored(rubric):
    question = rubric.question("founded")
    assert question.type == "date"
    assert not question.scored
    assert not question.is_required
    assert not compile_spec(rubric).scored[0]


def test_a_date_question_refuses_options_and_number_scoring():
    bad = DATED.replace(
        'label: {en: "When was the organisation registered?"}',
        'label: {en: "When?"}\n            options: [{id: a, label: A}]',
    )
    with pytest.raises(RubricError, match="only choice questions have options, not date"):
        load_rubric_text(bad)


def test_dates_are_encoded_as_day_numbers_and_bad_dates_refused(rubric):
    matrix = encode_answers(rubric, [{"founded": "2019-12-31"}, {"founded": "2020-01-01"}])
    assert matrix[1, 0] - matrix[0, 0] == 1
    with pytest.raises(ValueError, match="is not a date"):
        encode_answers(rubric, [{"founded": "31/12/2019"}])


@pytest.mark.parametrize(
    ("founded", "shown"),
    [("2019-12-31", True), ("2020-01-01", False), (None, False), ("__dk__", False)],
)
def test_relevance_compares_dates(rubric, founded, shown):
    assert evaluate_relevance(rubric, {"founded": founded})["early"] is shown


def test_relevance_takes_a_date_as_a_quoted_string_too():
    rubric = load_rubric_text(DATED.replace("date('2020-01-01')", "'2020-01-01'"))
    assert evaluate_relevance(rubric, {"founded": "2019-06-01"})["early"] is True
    assert evaluate_relevance(rubric, {"founded": "2021-06-01"})["early"] is False


@pytest.mark.parametrize(
    ("relevant", "message"),
    [
        ("${founded} > 3", "is a date question: compare it with a date"),
        ("${founded} = 'soon'", "is a date question: compare it with a date"),
        ("${founded} < date('2020-13-01')", "date\\(\\): '2020-13-01' is not a date"),
    ],
)
def test_relevance_refuses_what_is_not_a_date(relevant, message):
    with pytest.raises(RubricError, match=message):
        load_rubric_text(DATED.replace("${founded} < date('2020-01-01')", relevant))


def test_the_engine_tree_compares_day_numbers(rubric):
    trees, _ = compile_relevance(rubric)
    assert trees[1] == ("lt", ("col", 0), ("const", float(date(2020, 1, 1).toordinal())))


def test_relevance_does_not_know_today():
    # A rubric's relevance must not change with the day it is read (nor scores with it).
    with pytest.raises(RubricError, match="unsupported function today"):
        load_rubric_text(DATED.replace("date('2020-01-01')", "today()"))


def test_display_gives_the_iso_date_and_markers_for_the_rest(rubric):
    question = rubric.question("founded")
    assert display(question, rubric, "2019-03-04") == "2019-03-04"
    assert display(question, rubric, None) is Shown.BLANK
    assert display(question, rubric, "__na__") is Shown.NOT_APPLICABLE
    assert display(question, rubric, "__dk__") is Shown.DONT_KNOW


def test_a_date_question_goes_to_xlsform_and_back(rubric):
    data = export_xlsform(rubric)
    back = import_xlsform(data, filename="dated.xlsx").rubric
    assert back == rubric  # the date question, its label and the relevance on it
    question = back.question("founded")
    assert question.type == "date"
    assert question.label == {"en": "When was the organisation registered?"}
    assert evaluate_relevance(back, {"founded": "2019-12-31"})["early"] is True
    assert evaluate_relevance(back, {"founded": "2020-12-31"})["early"] is False


# --- the questionnaire, the history and the review ----------------------------------------------


@pytest.fixture
def dated(session, make_org, make_user):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org, name="Ana")
    evaluator = make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")
    version = rubric_services.store_rubric(session, load_rubric_text(DATED))
    rubric_services.publish(session, version)
    cycle = cycles.create_cycle(
        session,
        code="dated",
        name="Dated 2026",
        version=version,
        organizations=[org],
        opens_on=date.today(),
        closes_on=date.today() + timedelta(days=30),
        evaluators=[evaluator],
        by=None,
    )
    session.commit()
    assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    return user, evaluator, assessment


def page_form(client, url):
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    versions = dict(re.findall(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"', html))
    return html, {"csrf_token": token, **versions}


def test_the_page_shows_a_date_input_and_saves_an_iso_date(client, session, dated, logged_in):
    user, _, assessment = dated
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    html, data = page_form(client, url)
    assert re.search(r'<input[^>]*id="q_founded"[^>]*type="date"', html)
    # The date box speaks the questionnaire's language (its day, month and year order).
    assert re.search(r'<input[^>]*id="q_founded"[^>]*lang="en"', html)
    assert 'name="m_founded" type="checkbox" value="__dk__"' in html
    response = client.post(
        url, data={**data, "q_founded": "2019-05-17", "q_policy": "yes", "action": "save"}
    )
    assert response.status_code in (200, 302)
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert stored["founded"] == "2019-05-17"
    html = client.get(url).get_data(as_text=True)
    assert re.search(
        r'id="q_founded"[^>]*value="2019-05-17"|value="2019-05-17"[^>]*id="q_founded"', html
    )
    # Registered before 2020: the question about that time applies (the server decides).
    assert re.search(r'id="q-early"\s+data-question="early">', html)


def test_a_later_date_hides_the_question_it_governs(client, session, dated, logged_in):
    user, _, assessment = dated
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, "q_founded": "2021-02-03", "action": "save"})
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'id="q-early"\s+data-question="early" hidden', html)


def test_a_date_that_is_not_one_is_refused_and_nothing_saved(client, session, dated, logged_in):
    user, _, assessment = dated
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "q_founded": "17/05/2019", "action": "save"})
    assert response.status_code == 422
    assert "founded" not in store.values_of(store.answers_of(session, assessment.id))


def test_dont_know_on_a_date_is_stored_and_shown_ticked(client, session, dated, logged_in):
    user, _, assessment = dated
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, "m_founded": "__dk__", "action": "save"})
    assert store.values_of(store.answers_of(session, assessment.id)) == {"founded": "__dk__"}
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'checked id="m_founded-1"|id="m_founded-1"[^>]*checked', html)


def test_the_history_and_the_review_show_the_date(app, client, session, dated, logged_in, login_as):
    user, evaluator, assessment = dated
    store.save_answers(
        session,
        assessment,
        values={"founded": "2019-05-17", "early": "Volunteers", "policy": "yes"},
        base_versions={},
        user=user,
    )
    store.save_answers(
        session,
        assessment,
        values={"founded": "2018-01-02"},
        base_versions={"founded": 1},
        user=user,
    )
    session.commit()
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/history").get_data(as_text=True)
    assert "2019-05-17" in html
    assert "2018-01-02" in html
    assert services.submit(session, assessment, by=user) == []
    review.start_review(session, assessment, by=evaluator)
    session.commit()
    reviewer = app.test_client()
    login_as(reviewer, evaluator.email)
    html = reviewer.get(f"/assessments/{assessment.id}/review/indicator/I").get_data(as_text=True)
    assert "2018-01-02" in html


def test_one_display_for_every_page(app, rubric):
    question = rubric.question("founded")
    with app.test_request_context():
        assert display_answer(question, rubric, "en", "2019-05-17") == "2019-05-17"
        assert display_answer(question, rubric, "en", "__na__") == "Not applicable"
        assert review.describe(rubric, question, "__dk__", "en") == "Don't know"
        assert review.describe(rubric, question, None, "en") is None
        with force_locale("el"):
            assert display_answer(question, rubric, "en", "__dk__") == "Δεν γνωρίζω"
            assert review.describe(rubric, question, "__na__", "en") == "Δεν εφαρμόζεται"
