"""Organisations: their administration and their directory profile (issue 12)."""
