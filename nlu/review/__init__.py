"""The review queue: what the bot understood of every citizen message (pseudonymised, with retention),
the messages worth a second look, grouped, labelled by administrators and written as training data."""
