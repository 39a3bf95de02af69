"""The questionnaire: pages generated from the rubric, drafts, conflicts, submission."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from accounts.models import Role
from rubrics import services as rubric_services
from rubrics.loader import load_rubric_text
from surveys import answers as store
from surveys.cycles.services import open_cycle
from surveys.models import Answer, Assessment, Score, Status

# One answer per question of rubrics/library/quick-check.yaml, page by page (domains).
ROOT = Path(__file__).resolve().parents[2]

PAGE_ANSWERS = [
    {"q_SG1_policy": "3", "q_SG1_focal": "yes", "q_SG2_vetting": "2", "q_SG2_incidents": "4"},
    {"q_SV1_plans": "3", "q_SV1_referral": "most", "q_SV2_shelter": "__na__"},
    {
        "q_RS1_data": "2",
        "q_RS1_outcomes": "1",
        "q_RS2_evaluated": "yes",
        "q_RS2_changes": "We now follow up at 6 months.",
    },
]


@pytest.fixture
def ngo(make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    assessment = make_assessment(org=org)
    return org, user, assessment


def page_form(client, url):
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    versions = dict(re.findall(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"', html))
    return html, {"csrf_token": token, **versions}


def test_the_ngo_sees_its_assessment_on_the_home_page(client, ngo, logged_in):
    _, user, assessment = ngo
    html = logged_in(user).get("/").get_data(as_text=True)
    assert "Cycle 2026" in html
    assert f"/assessments/{assessment.id}/resume" in html
    assert "<progress" in html


def test_pages_are_generated_from_the_rubric(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/page/0").get_data(as_text=True)
    assert "How complete is your child safeguarding policy?" in html
    assert "No written policy." in html  # level descriptors
    assert 'name="q_SG1_policy"' in html
    assert "Section 1 of 3" in html
    html = client.get(f"/assessments/{assessment.id}/page/1").get_data(as_text=True)
    assert "Not applicable" in html  # SV2_shelter allows N/A


def test_the_questionnaire_renders_in_greek(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/page/0?lang=el").get_data(as_text=True)
    assert "Πόσο πλήρης είναι η πολιτική σας" in html


def test_save_and_continue_later_keeps_partial_answers(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "q_SG1_policy": "2", "action": "later"})
    assert response.status_code == 302
    answer = session.exec(select(Answer).where(Answer.question_id == "SG1_policy")).one()
    assert answer.value == 2
    session.refresh(assessment)
    assert assessment.status == Status.IN_PROGRESS
    assert 0 < assessment.progress < 1
    # Resuming opens the first page with an unanswered question: still page 0.
    response = client.get(f"/assessments/{assessment.id}/resume")
    assert response.headers["Location"].endswith("/page/0")


def test_an_invalid_option_is_refused_naming_the_question_and_other_answers_are_kept(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(
        url, data={**data, "q_SG1_policy": "9", "q_SG2_vetting": "3", "action": "next"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "How complete is your child safeguarding policy?" in html
    assert "choose one of the answers offered" in html
    assert "Traceback" not in html
    saved = {a.question_id: a.value for a in session.exec(select(Answer)).all()}
    assert saved == {"SG2_vetting": 3}


def test_submission_lists_what_is_missing_with_links(client, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    token = csrf(client, f"/assessments/{assessment.id}")
    response = client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "How complete is your child safeguarding policy?" in html
    assert re.search(rf"/assessments/{assessment.id}/page/0(\?lang=en)?#q-SG1_policy", html)


def answer_everything(client, assessment):
    for page, answers in enumerate(PAGE_ANSWERS):
        url = f"/assessments/{assessment.id}/page/{page}"
        _, data = page_form(client, url)
        response = client.post(url, data={**data, **answers, "action": "next"})
        assert response.status_code == 302, response.get_data(as_text=True)


def test_a_complete_assessment_submits_and_is_scored(client, session, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    token = csrf(client, f"/assessments/{assessment.id}")
    response = client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    assert response.status_code == 302
    assert f"/reports/assessments/{assessment.id}" in response.headers["Location"]
    session.refresh(assessment)
    assert assessment.status == Status.SUBMITTED
    overall = session.exec(select(Score).where(Score.level == "overall")).one()
    # Hand-computed: SG = mean(SG1: (66.67+100)/2, SG2: (33.33+100)/2) = 75,
    # SV = mean(SV1: (66.67+66.67)/2; SV2 N/A) = 66.67,
    # RS = mean(RS1: (33.33+0)/2, RS2: 100) = 58.33
    # overall = (2*75 + 66.67 + 58.33) / 4 = 68.75
    assert overall.score == pytest.approx(68.75, abs=1e-6)
    assert overall.band == "Developing"


def test_answers_are_read_only_after_submission(client, session, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    token = csrf(client, f"/assessments/{assessment.id}")
    client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    url = f"/assessments/{assessment.id}/page/0"
    html = client.get(url).get_data(as_text=True)
    assert "disabled" in html
    client.post(url, data={"csrf_token": token, "q_SG1_policy": "1", "action": "next"})
    session.expire_all()
    assert session.exec(select(Answer).where(Answer.question_id == "SG1_policy")).one().value == 3


def test_another_ngo_cannot_reach_the_assessment_by_changing_the_id(
    client, ngo, make_org, make_user, logged_in
):
    _, _, assessment = ngo
    other = make_user(email="b@example.org", org=make_org(name="NGO B"))
    logged_in(other)
    for url in (
        f"/assessments/{assessment.id}",
        f"/assessments/{assessment.id}/page/0",
        f"/reports/assessments/{assessment.id}",
    ):
        assert client.get(url).status_code == 404


def test_relevance_hides_a_question_and_the_server_ignores_its_answer(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    client.post(
        url, data={**data, "q_RS2_evaluated": "no", "q_RS2_changes": "ignored", "action": "later"}
    )
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert stored.get("RS2_evaluated") == "no"
    assert "RS2_changes" not in stored
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'id="q-RS2_changes"\s+data-question="RS2_changes" hidden', html)


def test_question_text_is_escaped(session, client, ngo, logged_in):
    # Answers and comments typed by people are escaped when shown back.
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(
        url,
        data={
            **data,
            "c_SG1_policy": "<script>alert(1)</script>",
            "q_SG1_policy": "2",
            "action": "later",
        },
    )
    html = client.get(url).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- the page: descriptors, labels, navigation ------------------------------------------------


def test_level_descriptors_are_shown_as_text_of_their_own_under_the_level(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/page/0").get_data(as_text=True)
    assert re.search(
        r'<input id="q_SG1_policy-0" name="q_SG1_policy" type="radio" value="1">\s*'
        r'<label for="q_SG1_policy-0"><span class="level-name">Initial:</span> '
        r'<span class="descriptor">No written policy.</span></label>',
        html,
    )
    # Every radio and text box has a label of its own; each question's radios are a group.
    assert '<legend class="qlabel">How complete is your child safeguarding policy?' in html
    ids = re.findall(r'<input id="(q_[^"]+)"', html)
    assert ids
    for input_id in ids:
        assert f'<label for="{input_id}">' in html
    html = client.get(f"/assessments/{assessment.id}/page/2").get_data(as_text=True)
    assert re.search(r'<label class="qlabel" for="q_RS2_changes">', html)


def test_save_stays_on_the_page_and_sections_can_be_reached_by_saving(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "q_SG1_policy": "2", "action": "save"})
    assert response.headers["Location"] == url
    _, data = page_form(client, url)
    response = client.post(
        url, data={**data, "q_SG1_policy": "2", "q_SG1_focal": "no", "action": "goto-2"}
    )
    assert response.headers["Location"] == f"/assessments/{assessment.id}/page/2"
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert stored == {"SG1_policy": 2, "SG1_focal": "no"}


def test_resuming_opens_the_first_page_with_an_unanswered_question(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, **PAGE_ANSWERS[0], "action": "later"})
    response = client.get(f"/assessments/{assessment.id}/resume")
    assert response.headers["Location"].endswith("/page/1")


# --- languages --------------------------------------------------------------------------------


def test_the_page_offers_the_rubrics_languages_and_keeps_the_choice_when_saving(
    client, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    html = client.get(url).get_data(as_text=True)
    assert f'href="{url}?lang=el" lang="el" hreflang="el">Ελληνικά</a>' in html
    assert '<strong aria-current="true" lang="en">English</strong>' in html
    html, data = page_form(client, url + "?lang=el")
    assert "Πόσο πλήρης είναι η πολιτική σας" in html
    assert "Δεν υπάρχει γραπτή πολιτική." in html
    response = client.post(url + "?lang=el", data={**data, "q_SG1_policy": "2"})
    assert response.headers["Location"] == f"/assessments/{assessment.id}/page/1?lang=el"


def test_a_greek_user_sees_the_interface_in_greek(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    with client.session_transaction() as sess:
        sess["lang"] = "el"
    html = client.get(f"/assessments/{assessment.id}/page/0").get_data(as_text=True)
    assert '<html lang="el">' in html
    assert "Ενότητα 1 από 3" in html  # Section 1 of 3
    assert "Αποθήκευση και συνέχεια αργότερα" in html  # Save and continue later
    assert "Save and continue later" not in html
    assert "Πόσο πλήρης είναι η πολιτική σας" in html  # the rubric follows the interface
    html = client.get("/").get_data(as_text=True)
    assert "αξιολογήσεις σας</h2>" in html  # Your assessments


def test_a_user_whose_account_is_in_greek_sees_greek(client, session, ngo, logged_in):
    _, user, assessment = ngo
    user.locale = "el"
    session.add(user)
    session.commit()
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert "Έλεγχος των απαντήσεων και υποβολή" in html  # Review the answers and submit


def test_validation_messages_are_translated(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0?lang=el"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "q_SG1_policy": "9", "action": "next"})
    html = response.get_data(as_text=True)
    assert "Κάποιες απαντήσεις χρειάζονται την προσοχή σας" in html
    assert "Not a valid choice" not in html


# --- not applicable and don't know on multiple, number and text questions ---------------------

MISSING_PATHS = """
id: missing-paths
title: {en: Missing paths}
languages: [en]
default_language: en
scale: {min: 1, max: 4}
missing: {allow_not_applicable: true, allow_dont_know: true, not_applicable: exclude}
domains:
  - id: D
    label: {en: Services}
    indicators:
      - id: I
        label: {en: What is offered}
        questions:
          - id: services
            type: multiple
            label: {en: "Which services do you offer?"}
            options:
              - {id: shelter, label: {en: Shelter}, score: 4}
              - {id: legal, label: {en: Legal aid}, score: 3}
          - id: staff
            type: number
            label: {en: "How many social workers do you employ?"}
            number: {method: linear, low: 0, high: 10}
          - id: notes
            type: text
            label: {en: "Anything else?"}
"""


@pytest.fixture
def missing_paths(session, make_org, make_user):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    version = rubric_services.store_rubric(session, load_rubric_text(MISSING_PATHS))
    rubric_services.publish(session, version)
    cycle = open_cycle(
        session, code="mp", name="Missing paths", version=version, organizations=[org]
    )
    session.commit()
    assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    return user, assessment


def test_multiple_number_and_text_questions_offer_na_and_dont_know_beside_the_answer(
    client, session, missing_paths, logged_in
):
    user, assessment = missing_paths
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    html, data = page_form(client, url)
    for qid in ("services", "staff", "notes"):
        assert f'name="m_{qid}" type="checkbox" value="__na__"' in html
        assert f'name="m_{qid}" type="checkbox" value="__dk__"' in html
    response = client.post(
        url,
        data={**data, "m_services": "__na__", "m_staff": "__dk__", "q_notes": "None yet"},
    )
    assert response.status_code == 302
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert stored == {"services": "__na__", "staff": "__dk__", "notes": "None yet"}
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'checked id="m_services-0"|id="m_services-0"[^>]*checked', html)
    assert re.search(r'checked id="m_staff-1"|id="m_staff-1"[^>]*checked', html)


def test_an_answer_and_na_together_are_refused_naming_the_question(
    client, session, missing_paths, logged_in
):
    user, assessment = missing_paths
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(
        url,
        data={
            **data,
            "q_services": ["shelter", "legal"],
            "q_staff": "4",
            "m_staff": "__na__",
            "action": "next",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(
        r"How many social workers do you employ\?</a>: Choose either an answer or "
        r'(&#34;|&quot;|")not applicable(&#34;|&quot;|"), not both.',
        html,
    )
    assert 'value="4"' in html  # what was typed is shown again
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert stored == {"services": ["shelter", "legal"]}


def test_dont_know_ticked_by_mistake_is_undone_by_unticking_it(
    client, session, missing_paths, logged_in
):
    user, assessment = missing_paths
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, "m_staff": "__dk__", "action": "save"})
    assert store.values_of(store.answers_of(session, assessment.id)) == {"staff": "__dk__"}
    html, data = page_form(client, url)
    assert re.search(r'checked id="m_staff-1"|id="m_staff-1"[^>]*checked', html)
    # Unticked, the box is not posted at all: the number alone is the answer.
    response = client.post(url, data={**data, "q_staff": "4", "action": "save"})
    assert response.status_code == 302
    session.expire_all()
    assert store.values_of(store.answers_of(session, assessment.id)) == {"staff": 4.0}
    html = client.get(url).get_data(as_text=True)
    assert not re.search(r'checked id="m_staff-1"|id="m_staff-1"[^>]*checked', html)


def test_a_number_with_dont_know_still_ticked_asks_for_one_of_them(
    client, session, missing_paths, logged_in
):
    user, assessment = missing_paths
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(
        url, data={**data, "q_staff": "4", "m_staff": "__dk__", "action": "save"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r"Choose either an answer or (&#34;|&quot;|\")don(&#39;|')t know", html)
    assert 'value="4"' in html
    assert re.search(r'checked id="m_staff-1"|id="m_staff-1"[^>]*checked', html)  # to untick


def test_na_and_dont_know_ticked_together_are_refused(client, session, missing_paths, logged_in):
    user, assessment = missing_paths
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "m_notes": ["__na__", "__dk__"], "action": "save"})
    assert response.status_code == 422
    assert re.search(
        r"Choose either (&#34;|&quot;|\")not applicable(&#34;|&quot;|\") or",
        response.get_data(as_text=True),
    )
    assert store.values_of(store.answers_of(session, assessment.id)) == {}


def test_na_among_the_choices_can_be_taken_back_to_no_answer(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/1"
    html, data = page_form(client, url)
    assert re.search(r'name="q_SV2_shelter" type="radio" value=""', html)  # "No answer yet"
    assert "No answer yet" in html
    client.post(url, data={**data, "q_SV2_shelter": "__na__", "action": "save"})
    assert store.values_of(store.answers_of(session, assessment.id)) == {"SV2_shelter": "__na__"}
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "q_SV2_shelter": "", "action": "save"})
    assert response.status_code == 302
    session.expire_all()
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert store.is_blank(stored.get("SV2_shelter"))


# --- relevance without the page's script ------------------------------------------------------


def test_without_javascript_a_page_whose_answers_show_more_questions_stays_open(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    html, data = page_form(client, url)
    assert re.search(r'id="q-RS2_changes"\s+data-question="RS2_changes" hidden', html)
    response = client.post(url, data={**data, "q_RS2_evaluated": "yes", "action": "next"})
    assert response.status_code == 200  # saved, and the follow-up question is shown
    html = response.get_data(as_text=True)
    assert "more questions on this page now apply" in html
    assert not re.search(r'id="q-RS2_changes"[^>]*hidden', html)
    assert "This question applies now" in html
    stored = store.values_of(store.answers_of(session, assessment.id))
    assert stored == {"RS2_evaluated": "yes"}


def test_with_javascript_the_page_moves_on_as_asked(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    response = client.post(
        url, data={**data, "q_RS2_evaluated": "yes", "js": "1", "action": "review"}
    )
    assert response.status_code == 302


def test_the_page_script_gets_the_relevance_rules_and_only_the_values_they_read(
    client, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    client.post(url, data={**data, "q_RS2_evaluated": "no", "q_RS1_data": "2", "action": "later"})
    html = client.get(url).get_data(as_text=True)
    relevance = re.search(r'data-relevance="([^"]*)"', html).group(1)
    assert "RS2_evaluated" in relevance
    assert "&#34;ref&#34;" in relevance
    values = re.search(r'data-values="([^"]*)"', html).group(1)
    assert values == "{&#34;RS2_evaluated&#34;: &#34;no&#34;}"


# --- translations -----------------------------------------------------------------------------


def _key(text):
    """A message id or string, hashable: plural forms are a tuple of texts."""
    return tuple(text) if isinstance(text, list | tuple) else text


def _translated(text) -> bool:
    return all(text) if isinstance(text, list | tuple) else bool(text)


def test_compiled_catalogues_match_their_sources():
    """The .mo files are committed: each must hold exactly its .po's translations."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = ROOT / "webapp" / "translations"
    for language in ("en", "el"):
        base = folder / language / "LC_MESSAGES"
        with (base / "messages.po").open("rb") as po_file:
            po = {
                _key(m.id): _key(m.string)
                for m in read_po(po_file)
                if m.id and _translated(m.string) and not m.fuzzy
            }
        with (base / "messages.mo").open("rb") as mo_file:
            # Babel writes an untranslated plural entry with its English forms: not a translation.
            mo = {
                _key(m.id): _key(m.string)
                for m in read_mo(mo_file)
                if m.id and not (m.pluralizable and _key(m.string) == _key(m.id))
            }
        assert mo == po, f"run `make translations` to compile {language}"


def test_every_interface_string_has_a_greek_translation():
    """Every string marked in the code, templates and unmarked.jinja of every package that
    shows text to people (the rubric editor and the services' messages included) has Greek."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    with (ROOT / "webapp/translations/el/LC_MESSAGES/messages.po").open("rb") as po_file:
        greek = {m.id: m.string for m in read_po(po_file) if m.id and not m.fuzzy}
    method_map = [
        ("**/templates/**.html", "jinja2"),
        ("**/translations/**.jinja", "jinja2"),
        ("**.py", "python"),
    ]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    missing = set()
    seen = 0
    for package in ("surveys", "accounts", "webapp", "rubrics", "reports"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, keywords=keywords
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            seen += 1
            if msgid and not greek.get(msgid):
                missing.add(msgid)
    assert seen > 500  # the extraction found the strings (a wrong method map finds none)
    assert not missing, f"untranslated (run `make translations` and translate): {sorted(missing)}"


def test_the_greek_catalogue_translates_every_entry_and_keeps_its_placeholders():
    from babel.messages.pofile import read_po

    with (ROOT / "webapp/translations/el/LC_MESSAGES/messages.po").open("rb") as po_file:
        catalogue = read_po(po_file)
    placeholder = re.compile(r"%\([a-z_]+\)[sd]")
    empty, fuzzy, changed = [], [], []
    for message in catalogue:
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        if not _translated(message.string):
            empty.append(message.id)
            continue
        # Plural forms: each Greek form keeps the placeholders of the English plural.
        source = message.id[-1] if isinstance(message.id, list | tuple) else message.id
        forms = message.string if isinstance(message.string, list | tuple) else [message.string]
        if any(
            sorted(placeholder.findall(source)) != sorted(placeholder.findall(form))
            for form in forms
        ):
            changed.append(message.id)
    assert not empty, f"msgid without a Greek msgstr: {empty}"
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy}"
    assert not changed, f"placeholders lost or added in Greek: {changed}"
