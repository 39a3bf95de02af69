"""``flask --app wsgi import-answers CYCLE FILE``: the web page's dry run and import, for files
too large for a browser or for scripts."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import col, select
from tqdm import tqdm

from accounts import permissions
from accounts.models import User
from surveys.imports.reader import ImportFileError, read_table
from surveys.imports.services import plan_import, run_import
from surveys.models import AssessmentCycle
from webapp.extensions import dbsession

DEFAULT_MAX_ROWS = 100_000  # the command line has no request to keep short


@click.command("import-answers")
@click.argument("cycle_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--column", help="The column naming each organisation (default: guessed).")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; store nothing.")
@click.option("--submit", "submit_complete", is_flag=True, help="Submit complete assessments.")
@click.option("--by", "by_email", help="E-mail of the evaluator or admin importing (recorded).")
@with_appcontext
def import_answers_command(
    cycle_code: str,
    path: Path,
    column: str | None,
    dry_run: bool,
    submit_complete: bool,
    by_email: str | None,
) -> None:
    """Import the answers of a KoboToolbox or ODK Central export (CSV or XLSX) into a cycle."""
    session = dbsession()
    cycle = session.exec(
        select(AssessmentCycle).where(col(AssessmentCycle.code) == cycle_code)
    ).first()
    if cycle is None:
        raise click.ClickException(f"no cycle with the code {cycle_code!r}")
    user = None
    if by_email:
        user = session.exec(select(User).where(col(User.email) == by_email.lower())).first()
        principal = permissions.load_principal(session, user.id if user else None)
        if user is None or not permissions.may(principal, "manage_cycle", cycle):
            raise click.ClickException(f"{by_email} may not manage the cycle {cycle_code}")
    max_rows = int(current_app.config.get("IMPORT_CLI_MAX_ROWS", DEFAULT_MAX_ROWS))
    try:
        table = read_table(path.read_bytes(), path.name, max_rows=max_rows)
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    plan = plan_import(session, cycle, table, file_name=path.name, organization_column=column)
    click.echo(f"organisation column: {plan.organization_column or '(none found)'}")
    for planned in plan.rows:
        where = planned.organization.name if planned.organization else planned.key or "-"
        line = f"row {planned.number} ({where}): {planned.outcome}"
        if planned.reason:
            line += f": {planned.reason}"
        elif planned.changes:
            line += f", {len(planned.changes)} answer(s) to store"
        click.echo(line)
        for problem in planned.problems:
            click.echo(f"  row {planned.number}, column {problem.column}: {problem.message}")
    ignored = [c.header for c in plan.columns if c.kind in ("metadata", "ignored")]
    click.echo(f"{len(plan.columns) - len(ignored)} column(s) mapped, {len(ignored)} ignored")
    if dry_run:
        session.rollback()
        click.echo("dry run: nothing stored")
        return
    with tqdm(total=len(plan.rows), unit="row", desc="importing", disable=None) as bar:
        result = run_import(
            session,
            cycle,
            plan,
            user=user,
            submit_complete=submit_complete,
            progress=bar.update,
        )
    session.commit()
    click.echo(
        f"stored {result.saved} answer(s); {result.submitted} assessment(s) submitted; "
        f"{result.conflicts} conflict(s)"
    )
