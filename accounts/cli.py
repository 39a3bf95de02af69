"""``flask create-user``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlmodel import select

from accounts import services
from accounts.models import Organization, Role
from webapp.extensions import dbsession


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "org_code", help="Organisation code (needed for NGO and funder roles).")
@click.password_option()
@with_appcontext
def create_user_command(
    email: str, name: str, role: str, org_code: str | None, password: str
) -> None:
    """Create a user with one role."""
    session = dbsession()
    org = None
    if org_code:
        org = session.exec(select(Organization).where(Organization.code == org_code)).first()
        if org is None:
            raise click.UsageError(f"no organisation with code {org_code!r}")
    try:
        user = services.create_user(session, email=email, name=name, password=password)
        services.add_membership(session, user=user, role=Role(role), organization=org)
    except services.AccountError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"created {user.email} ({role})")
