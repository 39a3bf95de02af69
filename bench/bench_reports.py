"""Benchmark of the funder's home and the PDF scorecard, through the app (HTTP via Flask's test
client, so routing, login, the permissions core and templates are all counted).

The data is the demo network (``webapp.demo.seed``: 40 NGOs, two child-protection cycles) in a
SQLite file in a temporary folder; the viewer is funder@demo.test. Baselines in the same run:
``/healthz`` (a bare route) for the home page, and the HTML scorecard of the same assessment
for its PDF. Target (issue 9): one scorecard PDF under 2 s. The first PDF of a process also
loads WeasyPrint, Pango and the fonts: it is printed on its own line.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

ROUNDS = 15
PDF_ROUNDS = 5


def _median_ms(call: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run() -> Iterator[tuple[str, str]]:
    import webapp.models_registry  # noqa: F401  (every table in the metadata)
    from webapp import create_app, demo

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests"))
    from conftest import login

    with tempfile.TemporaryDirectory(prefix="evaluator-bench-") as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        engine = sa.create_engine(url)
        SQLModel.metadata.create_all(engine)
        started = time.perf_counter()
        with Session(engine) as session:
            demo.seed(session)
            session.commit()
        engine.dispose()
        yield "seed the demo network", f"{time.perf_counter() - started:.1f} s"
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, "UPLOAD_FOLDER": folder}
        )
        client = app.test_client()
        assert login(client, "funder@demo.test", demo.DEMO_PASSWORD).status_code == 302

        def get(path: str) -> bytes:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response.data

        home = get("/").decode()
        first = re.search(r'href="/reports/assessments/(\d+)"', home)
        assert first, "the funder's home lists no scorecard"
        card = f"/reports/assessments/{first.group(1)}"
        bare = _median_ms(lambda: get("/healthz"), ROUNDS)
        yield "baseline: bare route /healthz (p50)", f"{bare:8.1f} ms"
        home_ms = _median_ms(lambda: get("/"), ROUNDS)
        yield "funder's home, 16 sharing NGOs (p50)", f"{home_ms:8.1f} ms ({home_ms / bare:.0f}x)"
        html_ms = _median_ms(lambda: get(card), ROUNDS)
        yield "baseline: HTML scorecard (p50)", f"{html_ms:8.1f} ms"
        started = time.perf_counter()
        get(card + "/scorecard.pdf")
        cold = (time.perf_counter() - started) * 1000
        yield "PDF scorecard, first in the process (cold)", f"{cold:8.1f} ms"
        pdf_ms = _median_ms(lambda: get(card + "/scorecard.pdf"), PDF_ROUNDS)
        verdict = "met" if pdf_ms < 2000 else "MISSED"
        yield (
            "PDF scorecard (p50; target < 2 s)",
            f"{pdf_ms:8.1f} ms ({pdf_ms / html_ms:.0f}x the HTML; target {verdict})",
        )
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()
