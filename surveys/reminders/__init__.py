"""Reminders by e-mail: NGOs whose assessment is due or overdue, evaluators of new submissions."""
