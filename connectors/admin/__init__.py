"""The administrators' console (web): review queue, models and catalogue on one page at /admin."""
