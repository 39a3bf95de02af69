"""sqlmap against the running app's filter and search parameters: it must find nothing (issue 13).

    .venv/bin/pip install -e '.[security]'      # sqlmap, from PyPI
    .venv/bin/python -m bench.bench_sqlmap [--level 2] [--technique BEUST]

Builds a throwaway instance (SQLite, migrated by Alembic, the demo loaded), serves it on a free
port in a thread, logs in as the demo funder and the demo evaluator over HTTP, then runs
``sqlmap --batch`` on every query parameter of the dashboard (cycle, rubric version, country,
type, focus area, status, source, page) and of the rubric diff (from, to), with the session
cookie. Exits 1 if sqlmap reports any parameter injectable, 2 if sqlmap is missing. Not part of
``make test`` or ``make bench`` (a run takes minutes).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from werkzeug.serving import make_server

TARGETS = [
    # (who, path and query: every filter of the dashboard, with values it accepts)
    (
        "funder@demo.test",
        "/reports/dashboard?cycle=1&version=1&country=AL&type=shelter&focus=prevention_education"
        "&status=verified&source=self&page=1",
    ),
    ("evaluator@demo.test", "/rubrics/quick-check/diff?from=1&to=1"),
]
FOUND = re.compile(r"(is vulnerable|appears to be .*injectable|Parameter: .* \(GET\))", re.I)
CLEAN = "do not appear to be injectable"


def build_instance(folder: Path) -> str:
    """A migrated SQLite database with the demo data; its URL."""
    from webapp import create_app, demo
    from webapp.extensions import db
    from webapp.migrate import upgrade_database

    url = f"sqlite:///{folder / 'sqlmap.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "sqlmap-bench",
            "DATABASE_URL": url,
            "UPLOAD_FOLDER": str(folder / "uploads"),
        }
    )
    with app.app_context():
        upgrade_database(url)
        demo.seed(db.session)
        db.session.commit()
    return url


def serve(folder: Path, url: str) -> tuple[str, object]:
    from webapp import create_app

    app = create_app(
        {
            "TESTING": False,
            "DEBUG": False,
            "SECRET_KEY": "sqlmap-bench-" + "x" * 32,
            "DATABASE_URL": url,
            "UPLOAD_FOLDER": str(folder / "uploads"),
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def session_cookie(base: str, email: str) -> str:
    """Log in through the login form; the session cookie as ``name=value``."""
    from webapp.demo import DEMO_PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": email, "password": DEMO_PASSWORD}
    ).encode()
    opener.open(f"{base}/login", data=form).read()
    cookies = {c.name: c.value for c in jar}
    assert "session" in cookies, "the login did not set a session cookie"
    return f"session={cookies['session']}"


def run_sqlmap(sqlmap: str, url: str, cookie: str, args: argparse.Namespace, out: Path) -> str:
    command = [
        sqlmap,
        "-u",
        url,
        "--cookie",
        cookie,
        "--batch",
        "--flush-session",
        "--disable-coloring",
        f"--level={args.level}",
        f"--risk={args.risk}",
        f"--technique={args.technique}",
        "--time-sec=2",
        "--threads=2",
        "--smart" if args.smart else "--answers=follow=N",
        f"--output-dir={out}",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    print(f"  {url.split('?')[0]:<40} {time.perf_counter() - started:6.1f} s", flush=True)
    return done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--risk", type=int, default=1)
    parser.add_argument("--technique", default="BEUST")
    parser.add_argument("--smart", action="store_true", help="only parameters that look dynamic")
    parser.add_argument("--show", action="store_true", help="print sqlmap's own output")
    args = parser.parse_args()
    sqlmap = shutil.which("sqlmap") or str(Path(sys.executable).with_name("sqlmap"))
    if not Path(sqlmap).exists():
        print("sqlmap is not installed: pip install -e '.[security]'", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="evaluator-sqlmap-"))
    try:
        print("# sqlmap against the dashboard's filters and the rubric diff", flush=True)
        url = build_instance(folder)
        base, server = serve(folder, url)
        found: list[str] = []
        for who, path in TARGETS:
            output = run_sqlmap(sqlmap, base + path, session_cookie(base, who), args, folder)
            if args.show:
                print(output)
            hits = [line for line in output.splitlines() if FOUND.search(line)]
            tested = re.findall(r"testing '([^']+)'", output)
            print(f"    {len(tested)} payload families tried; clean: {CLEAN in output}")
            if hits or "all tested parameters" not in output:
                found.extend(hits or [f"{path}: sqlmap did not finish:\n{output[-2000:]}"])
        server.shutdown()  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if found:
        print("sqlmap reports:\n" + "\n".join(found))
        return 1
    print("sqlmap found nothing injectable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
