"""Model versions: training a candidate from the labelled examples, evaluating it on the held-out
tests, the promotion gate, promotion into the running engine, and rollback."""
