"""Opening assessment cycles: their NGOs, evaluators and target score (evaluators, admins)."""
