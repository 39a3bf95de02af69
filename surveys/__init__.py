"""Assessments: cycles, the questionnaire, drafts, submission and review."""
