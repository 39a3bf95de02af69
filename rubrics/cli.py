"""``flask rubric ...``: command-line tools for rubric files.

``flask --app wsgi rubric validate FILE...`` prints ``FILE: ok (N questions)`` for each valid
file, or every problem as ``FILE:LINE: path.to.field: what is wrong`` and exits with status 1.
Validation needs no application context, so it also works on its own (and in tests) with
click's ``CliRunner``.

``rubric import FILE`` stores a YAML or XLSForm file as a new draft version (``--publish`` to
publish it), ``rubric export ID OUT`` writes a stored version as XLSForm or YAML, and
``rubric convert FORM.xlsx [--out RUBRIC.yaml]`` turns an XLSForm into a rubric file.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from rubrics import services
from rubrics.codebook import check_links, load_codebook_text
from rubrics.codebook_services import active_codebook
from rubrics.loader import RubricFileError, load_rubric
from rubrics.models import RubricVersion
from rubrics.schema import Rubric, RubricError
from rubrics.xlsform import XLSFormError, export_xlsform, import_xlsform
from rubrics.xlsform_cli import import_command as convert_command
from webapp.extensions import dbsession

rubric_cli = AppGroup("rubric", help="Work with rubric files.")


@rubric_cli.command("validate", with_appcontext=False)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--codebook",
    "codebook_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check shared indicators against this codebook file (default: rubrics/codebook.yaml).",
)
def validate(files: tuple[Path, ...], codebook_file: Path | None) -> None:
    """Check rubric FILES: structure, ids, weights, bands, scores, relevance and shared
    indicators (against the shipped codebook, rubrics/codebook.yaml, or --codebook)."""
    codebook = None
    if codebook_file is not None:
        try:
            codebook = load_codebook_text(
                codebook_file.read_text(encoding="utf-8"), str(codebook_file)
            )
        except RubricFileError as exc:
            for problem in exc.problems:
                click.echo(str(problem))
            raise click.exceptions.Exit(1) from None
        click.echo(f"{codebook_file}: ok ({len(codebook.indicators)} indicators)")
    failed = False
    for path in files:
        try:
            rubric = load_rubric(path, codebook=codebook)
        except RubricFileError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem))
        except (OSError, UnicodeDecodeError) as exc:
            failed = True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"{path}: cannot read: {reason}")
        else:
            count = sum(1 for _ in rubric.questions())
            click.echo(f"{path}: ok ({count} question{'s' if count != 1 else ''})")
    if failed:
        raise click.exceptions.Exit(1)


@rubric_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish the imported version at once.")
def import_into_database(file: Path, publish: bool) -> None:
    """Store FILE (YAML, or an XLSForm .xlsx/.xls) as a new draft version of its rubric."""
    rubric, source_format = _read_rubric_file(file)
    session = dbsession()
    try:
        version = services.store_rubric(session, rubric, source_format=source_format)
        if publish:
            services.publish(session, version)
    except (services.VersionError, RubricError) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    count = sum(1 for _ in rubric.questions())
    click.echo(
        f"{file}: stored {rubric.id} version {version.number} ({version.status}, "
        f"{count} question{'s' if count != 1 else ''}, id {version.id})"
    )


def _read_rubric_file(file: Path) -> tuple[Rubric, str]:
    if file.suffix.lower() in (".xlsx", ".xls"):
        try:
            result = import_xlsform(file)
        except XLSFormError as exc:
            for line in exc.report:
                click.echo(f"{file.name}: {line}", err=True)
            raise click.ClickException(str(exc)) from None
        for line in result.report:
            click.echo(f"{file.name}: {line}", err=True)
        linked = check_links(result.rubric, active_codebook(dbsession()))
        if linked:
            for problem in linked:
                click.echo(f"{file.name}: {problem.dotted}: {problem.message}", err=True)
            raise click.ClickException(f"{file}: not imported")
        return result.rubric, "xlsform"
    try:
        return load_rubric(file, codebook=active_codebook(dbsession())), "yaml"
    except RubricFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{file}: not imported") from None


@rubric_cli.command("export")
@click.argument("version_ref", metavar="ID")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_from_database(version_ref: str, out: Path) -> None:
    """Write a stored version to OUT (.xlsx: XLSForm; .yaml/.yml: YAML).

    ID is a version's numeric id, a rubric code (its latest version) or CODE:NUMBER.
    """
    version = _find_version(version_ref)
    rubric = services.rubric_of(version)
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        out.write_bytes(export_xlsform(rubric))
    elif suffix in (".yaml", ".yml"):
        out.write_text(services.yaml_text(version.content), encoding="utf-8")
    else:
        raise click.UsageError("OUT must end in .xlsx, .yaml or .yml")
    click.echo(f"wrote {rubric.id} version {version.number} to {out}")


def _find_version(ref: str) -> RubricVersion:
    session = dbsession()
    version: RubricVersion | None = None
    if ref.isdigit():
        version = session.get(RubricVersion, int(ref))
    else:
        code, _, number = ref.partition(":")
        if number:
            version = services.get_version(session, code, int(number)) if number.isdigit() else None
        elif (record := services.record_by_code(session, code)) is not None:
            version = next(iter(services.versions_of(session, record)), None)
    if version is None:
        raise click.ClickException(f"no rubric version {ref!r}")
    return version


rubric_cli.add_command(convert_command, "convert")
