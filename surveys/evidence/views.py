"""Evidence files: served to whoever may see the assessment, always as downloads; and the
command that removes deleted ones. (Files are attached through the questionnaire's page save.)"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Blueprint, abort, current_app, send_file
from flask_login import login_required
from werkzeug.wrappers import Response

from accounts.models import utcnow
from accounts.permissions import requires
from surveys.access import load_assessment
from surveys.evidence import services as evidence
from surveys.evidence.models import Evidence
from surveys.models import Assessment
from webapp.extensions import dbsession

# cli_group keeps the command where it was before the features had blueprints of their own:
# ``flask surveys purge-evidence``.
bp = Blueprint("evidence", __name__, cli_group="surveys")


def load_evidence(assessment_id: int, evidence_id: int) -> tuple[Assessment, Evidence]:
    """An evidence file that is not deleted, of an assessment whose evidence the current user
    may see (a funder: only when the NGO's grant includes evidence)."""
    assessment = load_assessment(assessment_id, need="view_evidence")
    item = evidence.find_evidence(dbsession(), assessment_id, evidence_id)
    if item is None:
        abort(404)
    return assessment, item


@bp.route("/<int:assessment_id>/evidence/<int:evidence_id>")
@login_required
@requires("view_evidence")
def evidence_file(assessment_id: int, evidence_id: int) -> Response:
    """An evidence file, to whoever may see the assessment: always as a download, never
    rendered or run by the browser."""
    _, item = load_evidence(assessment_id, evidence_id)
    path = evidence.path_of(evidence.upload_folder(current_app.config), item)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=item.content_type,
        as_attachment=True,
        download_name=item.original_filename,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- maintenance --------------------------------------------------------------------------------


@bp.cli.command("purge-evidence")
@click.option("--days", default=30, show_default=True, help="Keep deletions younger than this.")
def purge_evidence_command(days: int) -> None:
    """Remove the files of evidence deleted more than DAYS ago, and stale kept pages."""
    removed = evidence.purge_deleted(
        dbsession(),
        evidence.upload_folder(current_app.config),
        before=utcnow() - timedelta(days=days),
    )
    dbsession().commit()
    click.echo(f"removed {removed} deleted evidence file(s)")
