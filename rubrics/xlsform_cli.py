"""XLSForm in and out of rubric files: the ``import`` and ``export`` commands.

Plain click commands, attached to the ``flask rubric`` group by the CLI wiring::

    flask rubric import FORM.xlsx [--out RUBRIC.yaml]   # the draft rubric, and the import report
    flask rubric export RUBRIC.yaml OUT.xlsx

Neither needs an application context, so both also run on their own (and in tests) with click's
``CliRunner``.
"""

from __future__ import annotations

from pathlib import Path

import click

from rubrics.loader import RubricFileError, load_rubric, rubric_yaml
from rubrics.xlsform import XLSFormError, export_xlsform, import_xlsform


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rubric YAML to this file (default: standard output).",
)
def import_command(file: Path, out: Path | None) -> None:
    """Import the XLSForm FILE (.xlsx or .xls) as a draft rubric and print the import report."""
    # With the YAML on standard output, the report goes to standard error to keep them apart.
    report_to_stderr = out is None
    try:
        result = import_xlsform(file)
    except XLSFormError as exc:
        for line in exc.report:
            click.echo(f"{file.name}: {line}", err=True)
        raise click.ClickException(str(exc)) from None
    text = rubric_yaml(
        result.rubric, header=f"Imported from {file.name}: a draft, review it before publishing."
    )
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    for line in result.report:
        click.echo(f"{file.name}: {line}", err=report_to_stderr)
    count = sum(1 for _ in result.rubric.questions())
    where = f" -> {out}" if out is not None else ""
    click.echo(
        f"{file.name}: imported {count} question{'s' if count != 1 else ''}{where}, "
        f"{len(result.report)} report line{'s' if len(result.report) != 1 else ''}",
        err=report_to_stderr,
    )


@click.command("export")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_command(source: Path, out: Path) -> None:
    """Export the rubric file SOURCE as the XLSForm OUT (.xlsx)."""
    try:
        rubric = load_rubric(source)
    except RubricFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.exceptions.Exit(1) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{source}: cannot read: {exc}") from None
    out.write_bytes(export_xlsform(rubric))
    count = sum(1 for _ in rubric.questions())
    click.echo(f"{out}: XLSForm of '{rubric.id}' ({count} question{'s' if count != 1 else ''})")
