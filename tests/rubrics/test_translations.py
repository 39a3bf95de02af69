"""The rubric editor in Greek: every page, form, flash message and refusal in Greek.

Each page is rendered with the session's language set to Greek, and its visible text (tags,
scripts, the YAML text and ``<code>`` aside) must hold no English interface string: neither a
string of the catalogue left untranslated nor an unmarked English phrase. The rubric's own
English text is not the interface's and is allowed (the list of rubrics shows each rubric's
stored title, in its default language; the editor shows every language of a text).

The validation messages of the pure rubric modules (``rubrics.schema``, ``rubrics.loader``:
``FILE:LINE: path: message``) stay English by design (see ``rubrics/schema.py``); the pages
checked here do not contain any.
"""

# ruff: noqa: RUF001  (Greek text is the point of this module: its letters are not confusables)
from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from accounts.models import Role
from rubrics import services
from rubrics.loader import load_rubric
from rubrics.models import RubricVersion

ROOT = Path(__file__).resolve().parents[2]
QUICK_CHECK = ROOT / "rubrics" / "library" / "quick-check.yaml"
GREEK_PO = ROOT / "webapp" / "translations" / "el" / "LC_MESSAGES" / "messages.po"

# Words that are the same in Greek: formats, units, codes, the language switcher's names.
SAME_IN_GREEK = {"YAML", "XLSForm", "JSON", "KiB", "English", "CSV", "XLSX", "SPSS", "PDF"}


@pytest.fixture
def evaluator(make_user):
    return make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")


@pytest.fixture
def greek(client, evaluator, logged_in):
    """A client logged in as an evaluator whose session is in Greek."""
    logged_in(evaluator)
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    return client


@pytest.fixture
def draft(session, published_version, evaluator):
    """quick-check: version 1 published, version 2 a draft started from it."""
    version = services.new_draft(session, published_version("quick-check"), evaluator)
    session.commit()
    return version


def _english_texts(value) -> set[str]:
    """Every English text of a rubric document (its authors' words, not the interface's)."""
    if isinstance(value, dict):
        found = {str(value["en"])} if isinstance(value.get("en"), str) else set()
        for item in value.values():
            found |= _english_texts(item)
        return found
    if isinstance(value, list):
        return set().union(*(_english_texts(item) for item in value)) if value else set()
    return set()


RUBRIC_TEXT = frozenset(
    " ".join(text.split())
    for text in _english_texts(load_rubric(QUICK_CHECK).model_dump(mode="json"))
)


def _catalogue() -> dict[str, str]:
    with GREEK_PO.open("rb") as po_file:
        return {m.id: m.string for m in read_po(po_file) if m.id and isinstance(m.id, str)}


class _VisibleText(HTMLParser):
    """The text a person reads: text nodes, and the labels of buttons, fields and images."""

    HIDDEN = frozenset({"script", "style", "code", "pre", "textarea", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") == "submit":
                self.parts.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(page: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(page)
    return parser.parts


def english_left(page: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    """Pieces of ``page``'s visible text that are English interface strings.

    A piece is English when it is a msgid whose Greek differs, or when it holds two English
    words in a row (an unmarked phrase: ``Rubric settings``, ``the file is larger``).
    """
    catalogue = _catalogue()
    found = []
    for part in visible_text(page):
        if part in RUBRIC_TEXT or any(text in part for text in allowed):
            continue
        if part in catalogue and catalogue[part] != part:
            found.append(part)
            continue
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]+", part) if w not in SAME_IN_GREEK]
        if re.search(r"\b[A-Za-z][a-z'’]+\s+[a-z][a-z'’]+\b", part) and len(words) >= 2:
            found.append(part)
    return found


def test_the_english_detector_finds_english(greek, draft):
    """The check below is not vacuous: an English page fails it."""
    with greek.session_transaction() as browser_session:
        browser_session["lang"] = "en"
    page = greek.get("/rubrics/quick-check/1").get_data(as_text=True)
    assert "Start a new draft from this version" in english_left(page)
    assert "Other versions" in english_left(page)


def _token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _fields(page: str) -> dict[str, str]:
    """The named inputs, selects and textareas of a page's forms, as a browser sends them."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        attrs = dict(re.findall(r'([a-z_-]+)="([^"]*)"', tag))
        if "name" not in attrs or attrs.get("type") in ("checkbox", "radio", "file", "submit"):
            continue
        fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    for name, body in re.findall(
        r'<textarea[^>]*?name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        fields[name] = html.unescape(body).removeprefix("\r\n").removeprefix("\n")
    for name, body in re.findall(r'<select[^>]*?name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        options = re.findall(r"<option([^>]*)>", body)
        chosen = [o for o in options if re.search(r"\bselected\b", o)] or options[:1]
        value = re.search(r'value="([^"]*)"', chosen[0]) if chosen else None
        fields[name] = html.unescape(value.group(1)) if value else ""
    return fields


PAGES = [
    "/rubrics/",
    "/rubrics/upload",
    "/rubrics/quick-check/1",
    "/rubrics/quick-check/2",
    "/rubrics/quick-check/2/edit",
    "/rubrics/quick-check/2/edit?domain=SG",
    "/rubrics/quick-check/2/edit?domain=SV",
    "/rubrics/quick-check/2/edit/remove/domain/RS",
    "/rubrics/quick-check/2/edit/remove/question/SV2_shelter",
    "/rubrics/quick-check/2/delete",
    "/rubrics/quick-check/2/yaml",
    "/rubrics/quick-check/2/publish",
    "/rubrics/quick-check/diff",
    "/rubrics/quick-check/diff?from=1&to=2",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_editor_page_is_in_greek(greek, draft, session, url):
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["title"]["el"] = "Νέος τίτλος"
    theirs["domains"][0]["weight"] = 2
    services.update_draft(session, draft, services.parse_rubric(theirs))  # a diff to show
    session.commit()
    response = greek.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'lang="el"' in page
    assert english_left(page) == []


def test_the_editor_refusals_and_form_errors_are_in_greek(greek, draft, session):
    url = "/rubrics/quick-check/2/edit"
    fields = _fields(greek.get(url).get_data(as_text=True))
    fields.update(r_title_0="", r_title_1="", dnew_id="not valid!", b0_min="")
    response = greek.post(url, data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Απαιτείται σε αυτή τη γλώσσα." in page
    assert "Μη έγκυρο αναγνωριστικό." in page
    assert "Χρειάζεται ένας αριθμός." in page
    assert english_left(page) == []

    domain = "/rubrics/quick-check/2/edit?domain=SG"
    fields = _fields(greek.get(domain).get_data(as_text=True))
    fields.update(d0inew_id="SG1_policy")  # an id in use, without the rest of the indicator
    page = greek.post(domain, data=fields).get_data(as_text=True)
    assert "Το αναγνωριστικό 'SG1_policy' χρησιμοποιείται ήδη" in html.unescape(page)
    assert "Απαιτείται για την προσθήκη του δείκτη." in page
    assert english_left(page) == []

    services.publish(session, draft)
    session.commit()
    response = greek.get(url)  # a published version cannot be edited
    assert response.status_code == 409
    assert english_left(response.get_data(as_text=True)) == []


def test_the_editor_flash_messages_are_in_greek(greek, draft, session):
    response = greek.post(
        "/rubrics/quick-check/1/new-draft",
        data={"csrf_token": _token(greek, "/rubrics/")},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Η πρόχειρη έκδοση 3 ξεκίνησε από την έκδοση 1." in page
    assert english_left(page) == []

    url = "/rubrics/quick-check/2/edit"
    fields = _fields(greek.get(url).get_data(as_text=True))
    response = greek.post(url, data=fields, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Αποθηκεύτηκε." in page
    assert english_left(page) == []

    response = greek.post(
        "/rubrics/quick-check/2/publish",
        data={"csrf_token": _token(greek, "/rubrics/"), "lock_version": draft.lock_version + 1},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "δημοσιεύθηκε" in page
    assert english_left(page) == []


def test_an_upload_refusal_is_in_greek(greek, session):
    response = greek.post(
        "/rubrics/upload",
        data={"csrf_token": _token(greek, "/rubrics/"), "file": (io.BytesIO(b"x"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Ανεβάστε ένα αρχείο YAML" in page
    assert english_left(page) == []


def test_a_stale_save_conflict_page_is_in_greek(greek, draft, session):
    url = "/rubrics/quick-check/2/edit"
    fields = _fields(greek.get(url).get_data(as_text=True))
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["title"]["el"] = "Ο δικός τους τίτλος"
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    response = greek.post(url, data={**fields, "r_title_1": "Ο δικός μου τίτλος"})
    assert response.status_code == 409
    assert english_left(response.get_data(as_text=True)) == []


def test_service_messages_are_in_the_language_of_the_request_that_shows_them(app, session, draft):
    """Services raise lazily translated messages: Greek in a Greek request, English elsewhere."""
    from accounts.services import AccountError, create_user

    with app.test_request_context("/?lang=el"):
        with pytest.raises(services.VersionError) as caught:
            services.delete_draft(session, session.get(RubricVersion, draft.based_on_id))
        assert str(caught.value) == (
            "η έκδοση 1 είναι σε κατάσταση «δημοσιευμένη»· απορρίπτονται μόνο πρόχειρα"
        )
        with pytest.raises(AccountError) as account:
            create_user(session, email="a@b.org", name="A", password="short")
        assert str(account.value) == ("ο κωδικός πρόσβασης πρέπει να έχει τουλάχιστον 8 χαρακτήρες")
    with app.app_context():  # the CLI: no request, English
        assert str(account.value) == "the password must have at least 8 characters"
