"""The benchmarks' synthetic rubrics stay publishable: `make bench` is not part of `make test`,
so a rule added to the rubrics (such as one shared indicator per rubric) must not break them
unnoticed."""

from __future__ import annotations

import pytest

from bench import bench_dashboard, bench_exports, bench_quality
from rubrics.codebook import check_links, shipped_codebook


@pytest.mark.parametrize("bench", [bench_dashboard, bench_quality, bench_exports])
def test_a_benchmark_rubric_links_the_codebook_as_publishing_requires(bench) -> None:
    rubric = bench._rubric()
    assert rubric.questions()
    assert check_links(rubric, shipped_codebook()) == []
