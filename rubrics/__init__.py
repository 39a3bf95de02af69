"""Rubrics: what a rubric is (schema), loading and checking files, versions and the editor."""
