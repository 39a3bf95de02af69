"""Personal API tokens (issue 14): the tokens a person makes on their account page, the
idempotency keys of their writes and the request counts of the rate limit."""
