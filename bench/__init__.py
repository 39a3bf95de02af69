"""Benchmarks, run by `make bench` (never by `make test`): each figure beside its baseline."""
