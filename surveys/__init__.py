"""Assessments, one sub-package per feature (questionnaire, cycles, review, plan, evidence), each
with its models, services, views (a blueprint ``bp``) and templates, above a shared layer:
:mod:`surveys.workflow` (the status machine), :mod:`surveys.answers` (the answer store),
:mod:`surveys.scoring` (stored scores), :mod:`surveys.models` (the core tables)."""
