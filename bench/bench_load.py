"""Load, faults and races against the real server: ``make bench-load`` (not part of ``make test``).

gunicorn (2 workers x 4 threads, as ``make run``) serves a database holding the demo network,
on SQLite or (``--postgresql``) on a throwaway PostgreSQL cluster. For ``--seconds`` (60):

- 20 NGO people each fill in their own assessment of the child-protection rubric: open a page
  (GET), then save it (POST with the page's CSRF token and answer versions), changing one to
  three answers and writing a unique token in one question's comment, again and again;
- 5 funders load their home page, the scorecards it links to and the dashboard;
- one probe requests the bare ``/healthz`` route, the floor of a request in the same run.

Then the answer race of the permissions core: two colleagues open the same page and save the
same answer, based on the same version, at the same moment, 20 times; exactly one must win and
the other get the conflict page (409).

``--kill``: halfway through, the whole server (master and workers) is killed with SIGKILL and
started again; clients retry until it answers. Afterwards every acknowledged save (a 302 to
its POST) must have its token in the history exactly once, a save that got no answer at most
once, and SQLite's ``PRAGMA integrity_check`` must say ok.

Printed: requests/s, p50 and p99 per request type, 5xx responses (must be 0), "database is
locked" in the server's log (must be 0), and the counts of the checks. These machines are
shared and noisy: compare the request types within one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "bench-password-1234"  # noqa: S105 - throwaway accounts in a temporary database
RUBRIC = "child-protection"
N_NGOS, N_FUNDERS, RACE_ROUNDS = 20, 5, 20
TOKEN = "bench-save"  # noqa: S105 - a comment marker, not a secret

INPUT = re.compile(r"<input\b([^>]*)>")
ATTR = re.compile(r'([a-zA-Z_:-]+)(?:="([^"]*)")?')
SCORECARD = re.compile(r'href="(/reports/assessments/\d+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the database ---------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_cluster(folder: Path) -> Iterator[str]:
    """A throwaway cluster (RECIPES.md), run as the postgres user when we are root."""
    base = Path(tempfile.mkdtemp(prefix="bench-pg-", dir="/tmp"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    base.chmod(0o700)
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True)  # noqa: S603

    data = base / "data"
    run(str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--locale=C.UTF-8")  # fmt: skip
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=100 "
        "-c fsync=off -c synchronous_commit=off"
    )
    run(str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-o",
        options, "start")  # fmt: skip
    try:
        run(str(PGBIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
            "evaluator")  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/evaluator"
    finally:
        run(str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class World:
    ngo_people: list[tuple[str, int]]  # (email, assessment id)
    funders: list[str]
    racers: tuple[str, str, int]  # two colleagues and their assessment
    pages: int
    comment_targets: dict[int, str]  # page -> a question shown whatever the answers


def prepare(url: str, uploads: Path) -> World:
    """Migrate, load the demo, then open a bench cycle for 21 NGOs with a login each."""
    from argon2 import PasswordHasher
    from sqlmodel import col, select

    from accounts import services as accounts
    from accounts.models import Organization, Role
    from rubrics.services import latest_published, rubric_of
    from surveys.cycles.services import open_cycle
    from surveys.models import Assessment
    from webapp import create_app, demo
    from webapp.extensions import db
    from webapp.migrate import upgrade_database

    # Logins are verified with the server's own cost (argon2 reads it from the hash); making
    # them here at a lower cost saves seconds of setup.
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, "UPLOAD_FOLDER": str(uploads)}
    )
    started = time.perf_counter()
    with app.app_context():
        upgrade_database(url)
        session = db.session
        demo.seed(session)
        session.commit()
        version = latest_published(session, RUBRIC)
        assert version is not None
        ngos = list(
            session.exec(
                select(Organization)
                .where(Organization.kind == "ngo")
                .order_by(col(Organization.id))
                .limit(N_NGOS + 1)
            )
        )
        funder_orgs = list(session.exec(select(Organization).where(Organization.kind == "funder")))
        cycle = open_cycle(session, code="bench", name="Bench cycle", version=version,
                           organizations=ngos)  # fmt: skip
        session.flush()
        by_org = {
            a.organization_id: a.id
            for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id))
        }
        people = []
        for i, org in enumerate(ngos[:N_NGOS]):
            user = accounts.create_user(session, email=f"ngo{i}@bench.test", name=f"NGO person {i}",
                                        password=PASSWORD)  # fmt: skip
            accounts.add_membership(session, user=user, role=Role.NGO_MEMBER, organization=org)
            people.append((user.email, by_org[org.id]))
        racers = []
        for name in ("race-a", "race-b"):
            user = accounts.create_user(session, email=f"{name}@bench.test", name=name,
                                        password=PASSWORD)  # fmt: skip
            accounts.add_membership(session, user=user, role=Role.NGO_MEMBER, organization=ngos[-1])
            racers.append(user.email)
        funders = []
        for i in range(N_FUNDERS):
            user = accounts.create_user(session, email=f"funder{i}@bench.test", name=f"Funder {i}",
                                        password=PASSWORD)  # fmt: skip
            accounts.add_membership(session, user=user, role=Role.FUNDER,
                                    organization=funder_orgs[i % len(funder_orgs)])  # fmt: skip
            funders.append(user.email)
        session.commit()
        rubric = rubric_of(version)
        targets = {
            page: next(q.id for i in domain.indicators for q in i.questions if not q.relevant)
            for page, domain in enumerate(rubric.domains)
        }
        world = World(people, funders, (racers[0], racers[1], by_org[ngos[-1].id]),
                      len(rubric.domains), targets)  # fmt: skip
    with app.app_context():
        db.engine.dispose()
    print(f"  demo network and bench cycle loaded in {time.perf_counter() - started:.0f} s")
    return world


# --- the server


class Server:
    """gunicorn as ``make run`` starts it, in a process group of its own (so that kill -9 takes
    the master and its workers at once), logging to one file."""

    def __init__(self, url: str, port: int, log: Path, uploads: Path) -> None:
        self.port, self.log = port, log
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-not-for-production",
            "EVALUATOR_UPLOAD_FOLDER": str(uploads),
            # 25 people log in from one address, on purpose: no throttling of a bench's logins
            "EVALUATOR_LOGIN_ADDRESS_LIMIT": "100000",
            "EVALUATOR_HTTPS": "false",  # plain http on 127.0.0.1, as `make run`
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [gunicorn, "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{self.port}",
                 "--no-control-socket", "--capture-output", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        started = time.perf_counter()
        while time.perf_counter() - started < 60:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            time.sleep(0.05)
        raise RuntimeError(f"the server did not start; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- clients


class ServerDown(Exception):
    """No answer: the connection was refused or broke (the server was killed)."""


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    no_answer: int = 0
    acknowledged: list[str] = field(default_factory=list)  # tokens of saves answered 302
    unanswered: list[str] = field(default_factory=list)  # tokens of saves without an answer
    refused: list[str] = field(default_factory=list)  # tokens of saves answered otherwise

    def record(self, kind: str, status: int, seconds: float, path: str) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append(f"{status} {path}")


class Client:
    """One person's browser: cookies, one kept-alive connection, no redirects followed."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port, self.stats = port, stats
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, kind: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST" and self.conn is not None:
            # A save never goes over a kept-alive connection that the server may be closing as
            # idle: its failure would read as a save without an answer.
            self.conn.close()
            self.conn = None
        started = time.perf_counter()
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (OSError, http.client.HTTPException) as exc:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if reused and method == "GET" and attempt == 1:
                    started = time.perf_counter()  # closed as idle by the server: a new one
                    continue
                with self.stats.lock:
                    self.stats.no_answer += 1
                raise ServerDown(str(exc)) from exc
        seconds = time.perf_counter() - started
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if kind:
            self.stats.record(kind, response.status, seconds, path)
        return response.status, text, response.getheader("Location") or ""

    def login(self, email: str) -> None:
        while True:
            try:
                _, html, _ = self.request("GET", "/login", "")
                status, _, _ = self.request("POST", "/login", "", {
                    "csrf_token": csrf_of(html), "email": email, "password": PASSWORD,
                })  # fmt: skip
            except ServerDown:
                time.sleep(0.2)
                continue
            if status != 302:
                raise RuntimeError(f"login of {email} answered {status}")
            return


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def page_fields(html: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The hidden fields and checked radios to post back (the page as it stands), and the
    options of each radio question."""
    fields: dict[str, str] = {}
    options: dict[str, list[str]] = defaultdict(list)
    for tag in INPUT.findall(html):
        attrs = {k: (v or "") for k, v in ATTR.findall(tag)}
        name, kind = attrs.get("name", ""), attrs.get("type", "")
        if kind == "hidden" and name.startswith("v_"):
            fields[name] = attrs.get("value", "")
        elif kind == "radio" and name.startswith("q_"):
            options[name].append(attrs.get("value", ""))
            if "checked" in attrs:
                fields[name] = attrs.get("value", "")
    fields["csrf_token"] = csrf_of(html)
    return fields, options


def ngo_person(
    client: Client, number: int, assessment: int, world: World, until: float, seed: int
) -> None:
    rng = random.Random(seed)
    sequence = 0
    while time.perf_counter() < until:
        page = rng.randrange(world.pages)
        path = f"/assessments/{assessment}/page/{page}"
        try:
            status, html, _ = client.request("GET", path, "page GET")
        except ServerDown:
            time.sleep(0.1)
            continue
        if status != 200:
            continue
        fields, options = page_fields(html)
        for name in rng.sample(sorted(options), k=min(len(options), rng.randint(1, 3))):
            fields[name] = rng.choice(options[name])
        sequence += 1
        token = f"{TOKEN} {number}-{sequence}"
        fields[f"c_{world.comment_targets[page]}"] = token
        fields.update(action="save", js="1")
        try:
            status, _, _ = client.request("POST", path, "page POST (save)", fields)
        except ServerDown:
            client.stats.unanswered.append(token)
            time.sleep(0.1)
            continue
        (client.stats.acknowledged if status == 302 else client.stats.refused).append(token)


def funder(client: Client, until: float, seed: int) -> None:
    rng = random.Random(seed)
    scorecards: list[str] = []
    while time.perf_counter() < until:
        try:
            if not scorecards or rng.random() < 0.1:
                _, html, _ = client.request("GET", "/", "funder home GET")
                scorecards = sorted(set(SCORECARD.findall(html))) or scorecards
            elif rng.random() < 0.25:
                client.request("GET", "/reports/dashboard", "dashboard GET")
            else:
                client.request("GET", rng.choice(scorecards), "scorecard GET")
        except ServerDown:
            time.sleep(0.1)


def probe(client: Client, until: float) -> None:
    while time.perf_counter() < until:
        with contextlib.suppress(ServerDown):
            client.request("GET", "/healthz", "bare /healthz GET")
        time.sleep(0.05)


def race(port: int, world: World, stats: Stats) -> tuple[int, list[tuple[int, int]]]:
    """Two colleagues save the same answer from the same version at once; (rounds where
    exactly one won and the other got 409, the other rounds' statuses)."""
    first, second, assessment = world.racers
    a, b = Client(port, stats), Client(port, stats)
    a.login(first)
    b.login(second)
    path = f"/assessments/{assessment}/page/0"
    good, bad = 0, []
    for _ in range(RACE_ROUNDS):
        _, html_a, _ = a.request("GET", path, "")
        _, html_b, _ = b.request("GET", path, "")
        fields_a, options = page_fields(html_a)
        fields_b, _ = page_fields(html_b)
        name = next(n for n in sorted(options) if len(options[n]) >= 3)
        current = fields_a.get(name)
        mine, theirs = [v for v in options[name] if v != current][:2]
        fields_a.update({name: mine, "action": "save", "js": "1"})
        fields_b.update({name: theirs, "action": "save", "js": "1"})
        barrier = threading.Barrier(2)
        statuses: dict[str, int] = {}

        def save(
            who: str,
            client: Client,
            fields: dict[str, str],
            barrier: threading.Barrier = barrier,
            statuses: dict[str, int] = statuses,
        ) -> None:
            barrier.wait()
            statuses[who] = client.request("POST", path, "", fields)[0]

        threads = [
            threading.Thread(target=save, args=("a", a, fields_a)),
            threading.Thread(target=save, args=("b", b, fields_b)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if sorted(statuses.values()) == [302, 409]:
            good += 1
        else:
            bad.append((statuses.get("a", 0), statuses.get("b", 0)))
    return good, bad


# --- checks after the run


def check_saves(url: str, stats: Stats) -> dict[str, Any]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT new_comment, count(*) FROM answer_revision "
                "WHERE new_comment LIKE :prefix GROUP BY new_comment"
            ),
            {"prefix": f"{TOKEN} %"},
        ).all()
        integrity = None
        if url.startswith("sqlite"):
            integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
    engine.dispose()
    stored = {comment: int(n) for comment, n in rows}
    acknowledged = stats.acknowledged
    return {
        "acknowledged saves": len(acknowledged),
        "acknowledged and stored exactly once": sum(stored.get(t) == 1 for t in acknowledged),
        "acknowledged but missing": sum(t not in stored for t in acknowledged),
        "stored more than once": sum(n > 1 for n in stored.values()),
        "saves without an answer (server killed)": len(stats.unanswered),
        "... of which stored (once)": sum(stored.get(t) == 1 for t in stats.unanswered),
        "saves answered with another status": len(stats.refused),
        "PRAGMA integrity_check": integrity or "(PostgreSQL)",
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(stats: Stats, seconds: float) -> None:
    print(f"\n  {'request':<22} {'n':>6} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    total = 0
    for kind in sorted(stats.times, key=lambda k: (k.startswith("bare"), k)):
        times = stats.times[kind]
        total += len(times)
        print(
            f"  {kind:<22} {len(times):>6} {len(times) / seconds:>7.1f} "
            f"{statistics.median(times) * 1000:>8.0f} {percentile(times, 0.99) * 1000:>8.0f}"
        )
    print(f"  {'all':<22} {total:>6} {total / seconds:>7.1f}")
    print(f"  statuses: {dict(sorted(stats.statuses.items()))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load (60)")
    parser.add_argument("--kill", action="store_true", help="kill -9 the server halfway")
    parser.add_argument("--postgresql", action="store_true", help="on a throwaway cluster")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    uploads = folder / "uploads"
    backend = "PostgreSQL" if args.postgresql else "SQLite"
    print(f"# bench-load · {backend} · {args.seconds:.0f} s · {N_NGOS} NGO people, "
          f"{N_FUNDERS} funders{' · kill -9 halfway' if args.kill else ''}")  # fmt: skip
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with contextlib.ExitStack() as stack:
        if args.postgresql:
            url = stack.enter_context(postgres_cluster(folder))
        else:
            url = f"sqlite:///{folder / 'evaluator.sqlite3'}"
        world = prepare(url, uploads)
        log = folder / "server.log"
        server = Server(url, free_port(), log, uploads)
        stack.callback(server.stop)
        print(f"  server up in {server.start():.1f} s; log {log}")

        stats = Stats()
        clients = [Client(server.port, stats) for _ in range(N_NGOS + N_FUNDERS + 1)]
        for client, (email, _) in zip(clients, world.ngo_people, strict=False):
            client.login(email)
        for client, email in zip(clients[N_NGOS:], world.funders, strict=False):
            client.login(email)
        started = time.perf_counter()
        until = started + args.seconds
        threads = [
            threading.Thread(target=ngo_person, args=(c, i, a, world, until, i))
            for i, (c, (_, a)) in enumerate(zip(clients, world.ngo_people, strict=False))
        ]
        threads += [
            threading.Thread(target=funder, args=(c, until, 100 + i))
            for i, c in enumerate(clients[N_NGOS : N_NGOS + N_FUNDERS])
        ]
        threads.append(threading.Thread(target=probe, args=(clients[-1], until)))
        for thread in threads:
            thread.start()
        if args.kill:
            time.sleep(args.seconds / 2)
            acknowledged = len(stats.acknowledged)
            server.kill()
            print(f"  kill -9 of the server after {acknowledged} acknowledged saves")
            print(f"  restarted, answering again in {server.start():.1f} s")
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        report(stats, elapsed)

        good, bad = race(server.port, world, stats)
        server.stop()
        text = log.read_text(errors="replace")
        print(
            f"\n  5xx responses: {len(stats.server_errors)} (must be 0) {stats.server_errors[:5]}"
        )
        print(f'  "database is locked" in the server log: '
              f"{text.lower().count('database is locked')} (must be 0)")  # fmt: skip
        print(f"  tracebacks in the server log: {text.count('Traceback')}")
        print(f"  requests without an answer (server down): {stats.no_answer}")
        print(f"  answer race, {RACE_ROUNDS} rounds: {good} with one save and one 409 "
              f"(must be {RACE_ROUNDS}){f'; others: {bad}' if bad else ''}")  # fmt: skip
        checks = check_saves(url, stats)
        for label, value in checks.items():
            print(f"  {label}: {value}")
        failed = (
            stats.server_errors
            or "database is locked" in text.lower()
            or good != RACE_ROUNDS
            or checks["acknowledged but missing"]
            or checks["stored more than once"]
            or checks["acknowledged and stored exactly once"] != checks["acknowledged saves"]
            or checks["PRAGMA integrity_check"] not in ("ok", "(PostgreSQL)")
        )
    if failed:
        print(f"\nFAILED (kept {folder} for the server log)")
        return 1
    shutil.rmtree(folder, ignore_errors=True)
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
