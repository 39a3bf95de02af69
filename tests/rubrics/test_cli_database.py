"""``flask rubric import`` and ``flask rubric export`` against the database."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from rubrics.loader import load_rubric
from rubrics.models import RubricVersion
from rubrics.xlsform import import_xlsform

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "rubrics" / "library" / "quick-check.yaml"
XLSFORMS = ROOT / "tests" / "data" / "xlsforms"


def test_import_stores_a_yaml_rubric_as_a_draft(app, session):
    result = app.test_cli_runner().invoke(args=["rubric", "import", str(QUICK)])
    assert result.exit_code == 0, result.output
    assert "stored quick-check version 1 (draft" in result.output
    version = session.exec(select(RubricVersion)).one()
    assert version.status == "draft"


def test_import_can_publish_an_xlsform_and_reports_what_it_skipped(app, session):
    form = XLSFORMS / "widgets.xls"
    result = app.test_cli_runner().invoke(args=["rubric", "import", "--publish", str(form)])
    assert result.exit_code == 0, result.output
    assert "is not supported" in result.output  # the import report
    version = session.exec(select(RubricVersion)).one()
    assert (version.status, version.source_format) == ("published", "xlsform")


def test_import_of_an_invalid_file_names_file_and_line_and_stores_nothing(app, session, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(QUICK.read_text().replace("weight: 2", "weight: -2"))
    result = app.test_cli_runner().invoke(args=["rubric", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output
    assert "weight" in result.output
    assert session.exec(select(RubricVersion)).first() is None


def test_export_writes_xlsform_and_yaml_that_read_back_equal(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["rubric", "import", str(QUICK)])
    original = load_rubric(QUICK)
    for ref in ("1", "quick-check", "quick-check:1"):
        out = tmp_path / f"out-{ref.replace(':', '-')}.xlsx"
        result = runner.invoke(args=["rubric", "export", ref, str(out)])
        assert result.exit_code == 0, result.output
        assert import_xlsform(out).rubric == original
    yaml_out = tmp_path / "out.yaml"
    assert runner.invoke(args=["rubric", "export", "1", str(yaml_out)]).exit_code == 0
    assert load_rubric(yaml_out) == original


def test_export_of_an_unknown_version_is_a_clear_error(app, tmp_path):
    result = app.test_cli_runner().invoke(
        args=["rubric", "export", "nope:9", str(tmp_path / "x.xlsx")]
    )
    assert result.exit_code == 1
    assert "no rubric version 'nope:9'" in result.output
