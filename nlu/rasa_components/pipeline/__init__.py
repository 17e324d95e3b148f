"""Custom pipeline components named in config.yml. Their source is part of the model's input hash."""
