"""Custom actions Rasa calls: search, details, hand-off, crisis, language, deletion."""
