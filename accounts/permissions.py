"""Who may do what: the one place that answers "may this person do this to this object", and
that scopes queries to what they may see.

A person's rights come from their memberships (roles, in an organisation or platform-wide), the
access grants their funder organisations hold (to all of an NGO's cycles, or to chosen ones), and
the cycles they are assigned to review. They
are read once per request into a frozen :class:`Principal` (kept on ``flask.g``); every
permission below is a plain function of that principal and, for most, the object:

    view_assessment(principal, assessment)      may_view = can("view_assessment", assessment)

Objects are taken through small protocols (anything with an ``organization_id`` and a
``cycle_id``, anything with an ``id``), so this package needs nothing from ``surveys`` or
``rubrics`` (the layers contract forbids it). The cycle assignments live in a ``surveys`` table:
that module tells the core where they are with :func:`register_assignments`. So do the
assessments a person must not see while they verify them blind (the second evaluator of a double
verification, until both verifications are done): :func:`register_blind`. Those are hidden from
them however else they would see them (an assignment to the cycle made after the draw, a role
that sees everything), in the checks on one object and in the scope of every query alike.

Pages use :func:`requires` / :func:`public` (every route declares one, a test checks), and load
their objects through :func:`load` / :func:`authorize`. A refusal is answered the same way
everywhere:

- 404 to whoever may not see the object (or when there is none): the answer does not say
  whether it exists;
- 403 to whoever sees the object but may not do this (a funder who opens the questionnaire of an
  assessment it may read, an NGO member who opens the review of their own assessment): hiding
  what they can already see would only make the refusal look like a broken link;
- 403 to a logged-in person who lacks the role a permission about nothing in particular needs
  (``author_rubric``, ``open_cycles``, ...), checked before any object is looked up, so the answer
  is the same whether the object exists or not; the login page to whoever is not logged in.

No permission is concealed behind a 404 where its object is seen: the 403 page names neither the
object nor the missing right, so it tells the person nothing they could not already read.

Adding a role or a permission touches this module and its tests only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from accounts.models import (
    AccessGrant,
    AccessGrantCycle,
    Membership,
    Organization,
    Role,
    Visibility,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# The platform-wide roles of the evaluating side: they run cycles and author rubrics.
STAFF = frozenset({Role.EVALUATOR, Role.ADMIN})

# Who sees every assessment: admins. Evaluators see the cycles they are assigned to (their
# assigned cycles are part of their reach, see `Reach`), as consent requires (issue 9).
SEES_EVERY_ASSESSMENT = frozenset({Role.ADMIN})


# --- objects, as the core sees them ------------------------------------------------------------


class Identified(Protocol):
    """Anything with an id (a cycle, a rubric version)."""

    @property
    def id(self) -> int | None: ...


class OfOrganization(Protocol):
    """Anything that belongs to one organisation (an assessment, its plan, its evidence)."""

    @property
    def organization_id(self) -> int: ...


class Profiled(Protocol):
    """An organisation as the directory sees it (issue 12)."""

    @property
    def id(self) -> int | None: ...

    @property
    def visibility(self) -> str: ...

    @property
    def active(self) -> bool: ...


class InCycle(OfOrganization, Protocol):
    """Anything of one organisation in one cycle (an assessment)."""

    @property
    def cycle_id(self) -> int: ...


# --- the principal -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """What the core knows of one person: read once, then every question is answered from it."""

    user_id: int | None = None
    roles: frozenset[str] = frozenset()  # every role held, anywhere
    ngos: frozenset[int] = frozenset()  # NGOs they are a member or an admin of
    ngo_admin_of: frozenset[int] = frozenset()
    funders: frozenset[int] = frozenset()  # funder organisations they belong to
    granted_ngos: frozenset[int] = frozenset()  # NGOs that granted one of those funders access
    # Of those, the NGOs whose live grants are all limited to chosen cycles, and the (NGO, cycle)
    # pairs these grants cover; the other NGOs of granted_ngos granted all their cycles.
    cycle_limited_ngos: frozenset[int] = frozenset()
    granted_cycles: frozenset[tuple[int, int]] = frozenset()
    # NGOs whose live grant to one of their funders includes evidence, drafts and notes.
    evidence_ngos: frozenset[int] = frozenset()
    cycles: frozenset[int] = frozenset()  # cycles they are assigned to as an evaluator
    # (NGO, cycle) of the assessments they verify blind: hidden from them until both are done.
    blind: frozenset[tuple[int, int]] = frozenset()
    # Every membership is in a deactivated organisation: they may not log in (issue 12).
    locked_out: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def _holds(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


ANONYMOUS = Principal()


@dataclass(frozen=True)
class Reach:
    """Which assessments a principal sees: all, or those of these NGOs, of these cycles, or of
    these (NGO, cycle) pairs. :func:`view_assessment` and :func:`visible_assessments` both read
    it, so the check on one object and the scope of a query cannot disagree."""

    everything: bool
    organizations: frozenset[int]
    cycles: frozenset[int]
    organization_cycles: frozenset[tuple[int, int]] = frozenset()
    blind: frozenset[tuple[int, int]] = frozenset()  # never seen, whatever the above say

    def sees_some_of(self, ngo_id: int) -> bool:
        return (
            self.everything
            or ngo_id in self.organizations
            or any(ngo == ngo_id for ngo, _cycle in self.organization_cycles)
        )

    def sees(self, organization_id: int, cycle_id: int) -> bool:
        """The assessment of this NGO in this cycle."""
        if (organization_id, cycle_id) in self.blind:
            return False
        return (
            self.everything
            or organization_id in self.organizations
            or cycle_id in self.cycles
            or (organization_id, cycle_id) in self.organization_cycles
        )


def reach(principal: Principal) -> Reach:
    whole = principal.ngos | (principal.granted_ngos - principal.cycle_limited_ngos)
    return Reach(
        everything=principal._holds(SEES_EVERY_ASSESSMENT),
        organizations=whole,
        cycles=principal.cycles if Role.EVALUATOR in principal.roles else frozenset(),
        organization_cycles=frozenset(
            (ngo, cycle)
            for ngo, cycle in principal.granted_cycles
            if ngo in principal.cycle_limited_ngos and ngo not in whole
        ),
        blind=principal.blind,
    )


AssignmentQuery = Callable[[int], "sa.Select[Any]"]
_assignments: list[AssignmentQuery] = []
BlindQuery = Callable[[int], "sa.Select[int, int]"]
_blind: list[BlindQuery] = []


def register_assignments(query: AssignmentQuery) -> None:
    """Say where cycle assignments are kept: ``query(user_id)`` selects the ids of the cycles
    the user is assigned to. Called by the module that defines the table (accounts may not
    import it); without one, nobody is assigned to anything (the core fails closed)."""
    if query not in _assignments:
        _assignments.append(query)


def register_blind(query: BlindQuery) -> None:
    """Say where blind verifications are kept: ``query(user_id)`` selects the (organisation id,
    cycle id) of the assessments the user verifies blind and must not see otherwise yet."""
    if query not in _blind:
        _blind.append(query)


def load_principal(session: Session, user_id: int | None) -> Principal:
    """Read a person's memberships, grants, assignments and blind verifications (a query each);
    also for the CLI and tests, outside any request."""
    if user_id is None:
        return ANONYMOUS
    rows = session.execute(
        sa.select(col(Membership.role), col(Membership.organization_id), col(Organization.active))
        .outerjoin(Organization, col(Organization.id) == col(Membership.organization_id))
        .where(col(Membership.user_id) == user_id)
    ).all()
    # A deactivated organisation's memberships give nothing (issue 12).
    memberships = [(role, org) for role, org, active in rows if org is None or active]
    locked_out = bool(rows) and not memberships
    roles = frozenset(str(role) for role, _org in memberships)
    ngo_roles = {Role.NGO_MEMBER, Role.NGO_ADMIN}
    ngos = frozenset(org for role, org in memberships if role in ngo_roles and org is not None)
    admin_of = frozenset(org for role, org in memberships if role == Role.NGO_ADMIN and org)
    funders = frozenset(org for role, org in memberships if role == Role.FUNDER and org)
    granted, limited, pairs, evidence = _live_grants(session, funders)
    cycles: set[int] = set()
    for query in _assignments:
        cycles.update(session.execute(query(user_id)).scalars())
    blind: set[tuple[int, int]] = set()
    for blind_query in _blind:
        pairs_of = session.execute(blind_query(user_id))
        blind.update((int(org), int(cycle)) for org, cycle in pairs_of)
    return Principal(
        user_id=user_id,
        roles=roles,
        ngos=ngos,
        ngo_admin_of=admin_of,
        funders=funders,
        granted_ngos=granted,
        cycle_limited_ngos=limited,
        granted_cycles=pairs,
        evidence_ngos=evidence,
        cycles=frozenset(cycles),
        blind=frozenset(blind),
        locked_out=locked_out,
    )


def _live_grants(
    session: Session, funders: frozenset[int]
) -> tuple[frozenset[int], frozenset[int], frozenset[tuple[int, int]], frozenset[int]]:
    """The NGOs that granted one of ``funders`` access, those of them whose grants are all
    limited to chosen cycles, the (NGO, cycle) pairs these cover, and the NGOs whose grant
    includes evidence: one query, revoked grants left out (read on every request, so a
    revocation counts at once)."""
    if not funders:
        return frozenset(), frozenset(), frozenset(), frozenset()
    rows = session.execute(
        sa.select(
            col(AccessGrant.ngo_id),
            col(AccessGrant.all_cycles),
            col(AccessGrantCycle.cycle_id),
            col(AccessGrant.include_evidence),
        )
        .select_from(AccessGrant)
        .outerjoin(AccessGrantCycle, col(AccessGrantCycle.grant_id) == col(AccessGrant.id))
        .where(
            col(AccessGrant.funder_id).in_(sorted(funders)),
            col(AccessGrant.revoked_at).is_(None),
        )
    ).all()
    granted = frozenset(ngo for ngo, _all, _cycle, _evidence in rows)
    whole = frozenset(ngo for ngo, every, _cycle, _evidence in rows if every)
    pairs = frozenset(
        (ngo, cycle) for ngo, every, cycle, _evidence in rows if not every and cycle is not None
    )
    evidence = frozenset(ngo for ngo, _all, _cycle, included in rows if included)
    return granted, granted - whole, pairs, evidence


def current_principal() -> Principal:
    """The person making the request, read once per request (and again only if the login
    changes within it); the anonymous principal outside a request."""
    if not has_request_context():
        return ANONYMOUS
    user = current_user
    user_id = int(user.id) if user is not None and user.is_authenticated else None
    cached: Principal | None = g.get("_principal")
    if cached is None or cached.user_id != user_id:
        from webapp.extensions import dbsession  # the one piece of webapp allowed here

        cached = load_principal(dbsession(), user_id)
        g._principal = cached
    return cached


# --- the permissions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """A named permission and how a refusal is answered."""

    name: str
    check: Callable[..., bool]
    on: str | None  # the kind of object it is about; None: about nothing in particular
    seen_with: str | None = None  # the permission that shows the object (refused: 404)
    roles: frozenset[str] | None = None  # held by exactly these roles (lets users_who_may list)
    doc: str = ""

    def allows(self, principal: Principal, obj: Any = None) -> bool:
        if self.on is None:
            return bool(self.check(principal))
        if obj is None:
            return False
        return bool(self.check(principal, obj))


PERMISSIONS: dict[str, Permission] = {}


def _register(
    on: str | None = None,
    *,
    seen_with: str | None = None,
    roles: Iterable[str] | None = None,
) -> Callable[[F], F]:
    def decorate(check: F) -> F:
        PERMISSIONS[check.__name__] = Permission(
            check.__name__,
            check,
            on,
            seen_with,
            frozenset(roles) if roles is not None else None,
            (check.__doc__ or "").strip(),
        )
        return check

    return decorate


# About nothing in particular: what a page or a link needs.


@_register()
def logged_in(principal: Principal) -> bool:
    """Anyone logged in (what they then see is scoped by the other permissions)."""
    return principal.is_authenticated


@_register(roles={Role.ADMIN})
def administer(principal: Principal) -> bool:
    """Run the platform: every cycle, every review."""
    return Role.ADMIN in principal.roles


@_register(roles=STAFF)
def view_network(principal: Principal) -> bool:
    """See the list of the network's assessments (evaluators and admins; the list is scoped:
    an evaluator's holds the assessments of the cycles they are assigned to)."""
    return principal._holds(STAFF)


@_register(roles={Role.FUNDER, *STAFF})
def view_dashboard(principal: Principal) -> bool:
    """Open the comparative dashboard of many NGOs (funders, evaluators and admins; what it
    shows is scoped: a funder's, the NGOs that granted it access; an evaluator's, their
    cycles)."""
    return principal._holds({Role.FUNDER, *STAFF})


@_register(roles=STAFF)
def view_cycles(principal: Principal) -> bool:
    """See the assessment cycles (evaluators and admins)."""
    return principal._holds(STAFF)


@_register(roles=STAFF)
def open_cycles(principal: Principal) -> bool:
    """Open a new assessment cycle."""
    return principal._holds(STAFF)


@_register(roles={Role.EVALUATOR})
def be_cycle_evaluator(principal: Principal) -> bool:
    """Be assigned to a cycle to review its assessments."""
    return Role.EVALUATOR in principal.roles


@_register(roles=STAFF)
def view_rubric(principal: Principal, version: Identified | None = None) -> bool:
    """Read rubric versions: their pages, files, differences and questionnaire preview."""
    return principal._holds(STAFF)


@_register(roles=STAFF, seen_with="view_rubric")
def author_rubric(principal: Principal, version: Identified | None = None) -> bool:
    """Upload, edit, publish and discard rubric versions."""
    return principal._holds(STAFF)


# About an NGO (by id).


@_register("organization")
def view_scores_of(principal: Principal, ngo_id: int) -> bool:
    """See (some of) an NGO's results: its members, those who see every assessment, funders it
    granted access to all or some of its cycles."""
    return reach(principal).sees_some_of(ngo_id)


@_register("organization", seen_with="view_scores_of")
def view_sharing(principal: Principal, ngo_id: int) -> bool:
    """See with whom an NGO shares its results, and the record of its grants: its members."""
    return ngo_id in principal.ngos


@_register("organization", seen_with="view_scores_of")
def grant_access(principal: Principal, ngo_id: int) -> bool:
    """Grant or revoke a funder's access to an NGO's results: the consent is the NGO's own."""
    return ngo_id in principal.ngo_admin_of


@_register("organization", seen_with="view_scores_of")
def manage_team(principal: Principal, ngo_id: int) -> bool:
    """Invite an NGO's people, change their roles and remove them: its admins (and platform
    admins). Never another organisation's people."""
    return ngo_id in principal.ngo_admin_of or Role.ADMIN in principal.roles


# About an assessment (or anything of one organisation in one cycle).


@_register("assessment")
def view_assessment(principal: Principal, assessment: InCycle) -> bool:
    """See an assessment, its scorecard, plan, evidence and verified results."""
    return reach(principal).sees(assessment.organization_id, assessment.cycle_id)


@_register("assessment", seen_with="view_assessment")
def view_evidence(principal: Principal, assessment: InCycle) -> bool:
    """Open evidence files, answers not yet submitted (drafts) and the evaluator's notes and
    reasons: the NGO's members, the evaluators of its cycle and admins; a funder only when the
    NGO's grant includes them (``include_evidence``, on its Sharing page). Funders otherwise
    see submitted results, scores, verified results and plans (the README's roles)."""
    if (assessment.organization_id, assessment.cycle_id) in principal.blind:
        return False
    return (
        Role.ADMIN in principal.roles
        or assessment.organization_id in principal.ngos
        or (Role.EVALUATOR in principal.roles and assessment.cycle_id in principal.cycles)
        or assessment.organization_id in principal.evidence_ngos
    )


@_register("assessment", seen_with="view_assessment")
def answer_assessment(principal: Principal, assessment: OfOrganization) -> bool:
    """Fill in and submit the questionnaire: the NGO's own members."""
    return assessment.organization_id in principal.ngos


@_register("assessment", seen_with="view_assessment")
def view_history(principal: Principal, assessment: OfOrganization) -> bool:
    """See who changed which answer: the NGO's admins, evaluators and admins (not its plain
    members, nor funders), of an assessment they see (an evaluator: of their cycles)."""
    return assessment.organization_id in principal.ngo_admin_of or principal._holds(STAFF)


@_register("assessment", seen_with="view_assessment")
def review_assessment(principal: Principal, assessment: InCycle) -> bool:
    """Verify an assessment: admins, and the evaluators assigned to its cycle; never its blind
    second evaluator (one person cannot be both of its evaluators)."""
    if (assessment.organization_id, assessment.cycle_id) in principal.blind:
        return False
    return Role.ADMIN in principal.roles or (
        Role.EVALUATOR in principal.roles and assessment.cycle_id in principal.cycles
    )


@_register("assessment", seen_with="view_assessment")
def view_plan(principal: Principal, assessment: InCycle) -> bool:
    """See the improvement plan: everyone who sees the assessment."""
    return view_assessment(principal, assessment)


@_register("assessment", seen_with="view_plan")
def edit_plan(principal: Principal, assessment: OfOrganization) -> bool:
    """Add and change the plan's actions: the NGO's own members."""
    return assessment.organization_id in principal.ngos


# About a cycle.


@_register("cycle")
def view_cycle(principal: Principal, cycle: Identified) -> bool:
    """See a cycle's page (evaluators and admins)."""
    return view_cycles(principal)


@_register("cycle", seen_with="view_cycle")
def manage_cycle(principal: Principal, cycle: Identified) -> bool:
    """Change a cycle (NGOs, evaluators, target): admins, and the evaluators assigned to it."""
    return Role.ADMIN in principal.roles or (
        Role.EVALUATOR in principal.roles and cycle.id in principal.cycles
    )


# About an organisation's directory profile (issue 12).


@_register(roles={Role.ADMIN})
def manage_organizations(principal: Principal) -> bool:
    """Create, edit, deactivate and reactivate organisations (admins)."""
    return Role.ADMIN in principal.roles


@_register("profile")
def view_profile(principal: Principal, org: Profiled) -> bool:
    """See an organisation's directory profile: everyone if it is public, whoever is logged in
    if it is for members, its own people and admins always (a deactivated one: admins)."""
    if Role.ADMIN in principal.roles:
        return True
    if not org.active:
        return False
    return (
        org.visibility == Visibility.PUBLIC
        or (org.visibility == Visibility.MEMBERS and principal.is_authenticated)
        or org.id in principal.ngos | principal.funders
    )


@_register("profile", seen_with="view_profile")
def edit_profile(principal: Principal, org: Profiled) -> bool:
    """Edit an organisation's profile and choose its visibility: its NGO admins, and admins."""
    return Role.ADMIN in principal.roles or org.id in principal.ngo_admin_of


def sees_whole_profile(principal: Principal, org_id: int | None) -> bool:
    """Whether the principal sees the fields an organisation keeps to its own people."""
    return Role.ADMIN in principal.roles or org_id in principal.ngos | principal.funders


def visible_profiles(principal: Principal) -> sa.ColumnElement[bool]:
    """A where-clause on :class:`Organization` keeping the profiles :func:`view_profile`
    allows (the directory's lists and exports select through it)."""
    if Role.ADMIN in principal.roles:
        return sa.true()
    shown = [Visibility.PUBLIC.value]
    if principal.is_authenticated:
        shown.append(Visibility.MEMBERS.value)
    clauses: list[sa.ColumnElement[bool]] = [col(Organization.visibility).in_(shown)]
    own = principal.ngos | principal.funders
    if own:
        clauses.append(col(Organization.id).in_(sorted(own)))
    return sa.and_(col(Organization.active), sa.or_(*clauses))


def permission(name: str) -> Permission:
    try:
        return PERMISSIONS[name]
    except KeyError:
        raise ValueError(f"permission: no permission named {name!r}") from None


def may(principal: Principal, name: str, obj: Any = None) -> bool:
    """Whether ``principal`` has the permission ``name`` (on ``obj``, if it is about one)."""
    return permission(name).allows(principal, obj)


def can(name: str, obj: Any = None) -> bool:
    """Whether the person making the request has the permission (templates: ``can(...)``)."""
    return may(current_principal(), name, obj)


def can_in_template(name: str, obj: Any = None) -> bool:
    """:func:`can` for templates: an error page shown after a database failure renders its
    navigation without links rather than failing again."""
    try:
        return can(name, obj)
    except SQLAlchemyError:
        log.exception("could not read the permissions of the current user")
        return False


# --- loading objects ---------------------------------------------------------------------------


def authorize(obj: T | None, need: str, principal: Principal | None = None) -> T:
    """``obj`` if the principal may ``need`` it; else 404 to whoever may not see it (or when it
    does not exist), 403 to whoever sees it but may not do this. A permission about nothing in
    particular (``author_rubric``) is checked first: refused, 403 (the login page when not logged
    in) whether the object exists or not."""
    wanted = permission(need)
    who = principal if principal is not None else current_principal()
    if has_request_context():
        g.setdefault("_authorized", set()).add(need)
    chain = []
    seen: str | None = wanted.seen_with
    while seen is not None:  # e.g. edit_plan: seen with view_plan, seen with view_assessment
        chain.append(permission(seen))
        seen = chain[-1].seen_with
    if wanted.on is None:
        if not all(p.allows(who) for p in (*chain, wanted)):
            _refuse_for_want_of_a_role(who)
        if obj is None:
            abort(404)
        return obj
    if obj is None or not all(p.allows(who, obj) for p in reversed(chain)):
        abort(404)
    if not wanted.allows(who, obj):
        abort(403 if chain else 404)  # without a chain, the permission is the one that shows it
    return obj


def _refuse_for_want_of_a_role(who: Principal) -> NoReturn:
    """The login page to whoever is not logged in (they may hold the role once they are); 403
    to whoever is (the page says they may not, not why)."""
    if not who.is_authenticated and has_request_context():
        from webapp.extensions import login_manager

        abort(login_manager.unauthorized())
    abort(403)


def load(model: type[T], ident: Any, *, need: str) -> T:
    """The ``model`` row ``ident``, through :func:`authorize` (the generic loader)."""
    from webapp.extensions import dbsession

    return authorize(dbsession().get(model, ident), need)


# --- declaring what a route needs ----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What a route declares: a permission, or that it is public."""

    permission: str | None  # None: public

    @property
    def public(self) -> bool:
        return self.permission is None


ACCESS_ATTRIBUTE = "access"


def access_of(view: Callable[..., Any]) -> Access | None:
    """What a view function declares (None: nothing, which the route test refuses)."""
    found = getattr(view, ACCESS_ATTRIBUTE, None)
    return found if isinstance(found, Access) else None


def public(view: F) -> F:
    """Declare a route open to everyone, logged in or not."""
    setattr(view, ACCESS_ATTRIBUTE, Access(None))
    return view


def requires(name: str) -> Callable[[F], F]:
    """Declare the permission a route needs (recorded on the view function).

    A permission about nothing in particular is checked here: not logged in, the login page;
    logged in but refused, 403. A permission about an object
    is checked by the loader the view calls (:func:`load`, :func:`authorize`); a view that
    returns without having called one is a programming error, raised in debug and testing.
    """
    wanted = permission(name)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = current_principal()
            if wanted.on is None:
                if not wanted.allows(who):
                    _refuse_for_want_of_a_role(who)
                return view(*args, **kwargs)
            result = view(*args, **kwargs)
            if who.is_authenticated and name not in g.get("_authorized", set()):
                message = (
                    f"{request.endpoint} declares {name!r} but loaded no object through the "
                    "permissions core"
                )
                if current_app.debug or current_app.testing:
                    raise RuntimeError(message)
                log.error(message)
            return result

        setattr(guarded, ACCESS_ATTRIBUTE, Access(name))
        return guarded  # type: ignore[return-value]

    return decorate


# --- scoping queries ---------------------------------------------------------------------------


def visible_assessments(
    principal: Principal,
    organization_id: Any,
    cycle_id: Any,
) -> sa.ColumnElement[bool]:
    """A where-clause keeping the assessments (or their scores, plans, ...) the principal may
    see. Pass the columns it filters: ``visible_assessments(p, Assessment.organization_id,
    Assessment.cycle_id)``, so any select can be scoped, with or without a join."""
    found = reach(principal)
    hidden = _hidden(found.blind, organization_id, cycle_id)
    if found.everything:
        return sa.true() if hidden is None else hidden
    clauses: list[sa.ColumnElement[bool]] = []
    if found.organizations:
        clauses.append(col(organization_id).in_(sorted(found.organizations)))
    if found.cycles:
        clauses.append(col(cycle_id).in_(sorted(found.cycles)))
    by_ngo: dict[int, list[int]] = {}
    for ngo, cycle in sorted(found.organization_cycles):
        by_ngo.setdefault(ngo, []).append(cycle)
    for ngo, ngo_cycles in by_ngo.items():  # grants limited to chosen cycles
        clauses.append(sa.and_(col(organization_id) == ngo, col(cycle_id).in_(ngo_cycles)))
    if not clauses:
        return sa.false()
    return sa.or_(*clauses) if hidden is None else sa.and_(sa.or_(*clauses), hidden)


def _hidden(
    blind: frozenset[tuple[int, int]], organization_id: Any, cycle_id: Any
) -> sa.ColumnElement[bool] | None:
    """A where-clause leaving out the blind (NGO, cycle) pairs, or None if there are none."""
    if not blind:
        return None
    by_cycle: dict[int, list[int]] = {}
    for ngo, cycle in sorted(blind):
        by_cycle.setdefault(cycle, []).append(ngo)
    return sa.and_(
        *(
            sa.not_(sa.and_(col(cycle_id) == cycle, col(organization_id).in_(ngos)))
            for cycle, ngos in by_cycle.items()
        )
    )


def users_who_may(name: str) -> sa.Select[Any]:
    """The ids of the users who hold a role-based permission (e.g. who may be assigned to
    review a cycle), as a select to use as a subquery."""
    wanted = permission(name)
    if wanted.roles is None:
        raise ValueError(f"name: {name!r} does not depend on roles alone")
    return (
        sa.select(col(Membership.user_id))
        .where(col(Membership.role).in_(sorted(wanted.roles)))
        .distinct()
    )
