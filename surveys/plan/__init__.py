"""Improvement plans: what an NGO will do about the indicators below its cycle's target."""
