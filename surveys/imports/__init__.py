"""Answers brought in from KoboToolbox and ODK Central exports (issue 14, section 2)."""
