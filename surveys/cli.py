"""``flask --app wsgi rescore``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from surveys.scoring import rescore, scored_assessments
from webapp.extensions import dbsession


@click.command("rescore")
@click.option("--rubric", "rubric_code", help="Only the assessments of this rubric (its code).")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def rescore_command(rubric_code: str | None, batch_size: int) -> None:
    """Rescore every submitted assessment and store the results for the dashboards."""
    session = dbsession()
    total = len(scored_assessments(session, rubric_code=rubric_code))
    with tqdm(total=total, unit="assessment", desc="rescoring", disable=None) as bar:
        done = rescore(session, rubric_code=rubric_code, batch_size=batch_size, progress=bar.update)
    session.commit()
    click.echo(f"rescored {done} assessment(s)")
