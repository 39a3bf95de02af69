"""External verification: an evaluator's review, indicator by indicator."""
