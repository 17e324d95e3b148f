"""Understanding: language identification, normalisation, crisis rules, training data, evaluation."""
