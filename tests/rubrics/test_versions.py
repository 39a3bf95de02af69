"""Rubric versions: drafts are editable, published versions immutable (services and ORM guard)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from accounts.models import Role
from rubrics import services
from rubrics.loader import load_rubric, load_rubric_text
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.schema import parse_rubric
from rubrics.signals import version_published

LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"


@pytest.fixture
def quick_check():
    return load_rubric(LIBRARY / "quick-check.yaml")


def retitled(rubric, title="Quick check, revised"):
    data = services.content_of(rubric)
    data["title"] = {"en": title, "el": "Αναθεωρημένο"}
    return parse_rubric(data)


def test_a_stored_rubric_is_a_draft_numbered_from_one(session, quick_check):
    first = services.store_rubric(session, quick_check)
    second = services.store_rubric(session, quick_check)
    session.commit()
    assert (first.number, second.number) == (1, 2)
    assert first.status == second.status == VersionStatus.DRAFT
    assert first.rubric_id == second.rubric_id
    assert session.exec(select(RubricRecord)).one().code == "quick-check"


def test_numbering_is_per_rubric(session, quick_check):
    services.store_rubric(session, quick_check)
    other = services.store_rubric(session, load_rubric(LIBRARY / "organisational-capacity.yaml"))
    assert other.number == 1


def test_a_draft_can_be_edited_and_the_lock_version_is_bumped(session, quick_check):
    version = services.store_rubric(session, quick_check)
    before = version.lock_version
    services.update_draft(session, version, retitled(quick_check))
    session.commit()
    assert version.lock_version == before + 1
    assert services.rubric_of(version).title["en"] == "Quick check, revised"
    assert version.content_hash == services.hash_content(version.content)


def test_a_stale_edit_is_refused_and_nothing_is_written(session, quick_check):
    version = services.store_rubric(session, quick_check)
    stale = version.lock_version
    services.update_draft(session, version, retitled(quick_check, "Mine"), expected_lock=stale)
    with pytest.raises(services.StaleVersionError):
        services.update_draft(
            session, version, retitled(quick_check, "Theirs"), expected_lock=stale
        )
    session.commit()
    assert services.rubric_of(version).title["en"] == "Mine"


def test_an_edit_cannot_change_the_rubric_id(session, quick_check):
    version = services.store_rubric(session, quick_check)
    data = services.content_of(quick_check)
    data["id"] = "another"
    with pytest.raises(services.VersionError, match="must stay 'quick-check'"):
        services.update_draft(session, version, parse_rubric(data))


def test_publishing_makes_the_content_immutable_in_the_services(session, quick_check):
    version = services.store_rubric(session, quick_check)
    services.publish(session, version)
    session.commit()
    assert version.status == VersionStatus.PUBLISHED
    assert version.published_at is not None
    with pytest.raises(services.VersionError, match="cannot be changed"):
        services.update_draft(session, version, retitled(quick_check))
    with pytest.raises(services.VersionError, match="not a draft"):
        services.publish(session, version)
    with pytest.raises(services.VersionError, match="only drafts"):
        services.delete_draft(session, version)
    session.rollback()
    assert services.rubric_of(version) == quick_check


def test_publishing_sends_the_version_published_signal(session, quick_check):
    received = []

    def receiver(sender, *, version, **_):
        received.append((sender, version.id, version.status))

    version = services.store_rubric(session, quick_check)
    with version_published.connected_to(receiver):
        services.publish(session, version)
    assert received == [(session, version.id, VersionStatus.PUBLISHED)]


def test_publishing_a_draft_changed_since_it_was_reviewed_is_refused(session, quick_check):
    version = services.store_rubric(session, quick_check)
    reviewed = version.lock_version
    services.update_draft(session, version, retitled(quick_check))
    with pytest.raises(services.StaleVersionError):
        services.publish(session, version, expected_lock=reviewed)
    assert version.status == VersionStatus.DRAFT


def test_the_orm_guard_refuses_to_write_a_published_versions_content(session, quick_check):
    version = services.store_rubric(session, quick_check)
    services.publish(session, version)
    session.commit()
    content = dict(version.content)
    content["title"] = {"en": "Changed behind the services' back"}
    version.content = content
    version.content_hash = services.hash_content(content)
    with pytest.raises(services.VersionError, match=r"cannot be changed \(content, content_hash\)"):
        session.flush()
    session.rollback()
    session.expire_all()
    stored = session.get(RubricVersion, version.id)
    assert stored.content["title"]["en"] == "Safeguarding quick check"


def test_the_orm_guard_catches_in_place_edits_of_the_json(session, quick_check):
    version = services.store_rubric(session, quick_check)
    services.publish(session, version)
    session.commit()
    version.content["title"]["en"] = "Edited in place"  # marks nothing dirty by itself
    session.add(RubricRecord(code="other", title="Other"))  # any flush trips the guard
    with pytest.raises(services.VersionError, match="edited in place"):
        session.flush()
    session.rollback()
    assert session.get(RubricVersion, version.id).content["title"]["en"] == (
        "Safeguarding quick check"
    )


def test_the_orm_guard_refuses_unpublishing_and_renumbering(session, quick_check):
    version = services.store_rubric(session, quick_check)
    services.publish(session, version)
    session.commit()
    version.status = VersionStatus.DRAFT
    with pytest.raises(services.VersionError, match="status"):
        session.flush()
    session.rollback()
    version.number = 7
    with pytest.raises(services.VersionError, match="number"):
        session.flush()
    session.rollback()
    session.delete(version)
    with pytest.raises(services.VersionError, match="cannot be deleted"):
        session.flush()
    session.rollback()


def test_the_orm_guard_lets_drafts_change_and_published_versions_retire(session, quick_check):
    version = services.store_rubric(session, quick_check)
    version.source_format = "xlsform"  # a draft: anything goes
    session.flush()
    services.publish(session, version)
    version.status = VersionStatus.RETIRED
    session.flush()
    session.commit()
    assert session.get(RubricVersion, version.id).status == VersionStatus.RETIRED


def test_a_new_draft_copies_a_published_version(session, quick_check, make_user):
    evaluator = make_user(email="eva@example.org", role=Role.EVALUATOR)
    first = services.store_rubric(session, quick_check)
    services.publish(session, first)
    draft = services.new_draft(session, first, evaluator)
    session.commit()
    assert draft.number == 2
    assert draft.status == VersionStatus.DRAFT
    assert draft.based_on_id == first.id
    assert draft.created_by_id == evaluator.id
    assert draft.content == first.content
    services.update_draft(session, draft, retitled(quick_check))
    session.commit()
    assert services.rubric_of(first).title["en"] == "Safeguarding quick check"
    assert services.previous_published(session, draft) == first
    assert services.previous_version(session, draft) == first


def test_a_new_draft_can_start_from_any_version(session, quick_check):
    first = services.store_rubric(session, quick_check)
    services.publish(session, first)
    second = services.new_draft(session, first)
    services.update_draft(session, second, retitled(quick_check))
    services.publish(session, second)
    third = services.new_draft(session, first)  # back to the first version's content
    assert third.number == 3
    assert third.based_on_id == first.id
    assert services.rubric_of(third) == quick_check


def test_publishing_renames_the_rubric_record(session, quick_check):
    version = services.store_rubric(session, retitled(quick_check, "A newer title"))
    services.publish(session, version)
    assert session.exec(select(RubricRecord)).one().title == "A newer title"


def test_deleting_a_draft_keeps_the_lineage_of_later_drafts(session, quick_check):
    first = services.store_rubric(session, quick_check)
    services.publish(session, first)
    second = services.new_draft(session, first)
    third = services.new_draft(session, second)
    services.delete_draft(session, second)
    session.commit()
    assert third.based_on_id == first.id
    assert [v.number for v in services.versions_of(session, session.get(RubricRecord, 1))] == [
        3,
        1,
    ]


def test_the_yaml_text_of_a_version_loads_back_equal(session, quick_check):
    version = services.store_rubric(session, quick_check)
    text = services.yaml_text(version.content)
    assert text.startswith("id: quick-check\ntitle:")
    assert "Σύντομος έλεγχος" in text  # allow_unicode
    assert "weight: 1.0" not in text  # defaults are left out
    assert load_rubric_text(text) == quick_check


def test_the_listing_shows_each_rubric_with_its_versions(session, quick_check):
    first = services.store_rubric(session, quick_check)
    services.publish(session, first)
    services.new_draft(session, first)
    [listing] = services.list_rubrics(session)
    assert [v.number for v in listing.versions] == [2, 1]
    assert listing.latest_published == first
    assert services.get_version(session, "quick-check", 2).status == VersionStatus.DRAFT
    assert services.get_version(session, "quick-check", 9) is None
