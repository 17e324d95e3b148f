"""Honest evaluation of understanding: held-out test sets per language, never used for training or tuning.

`brobygger evaluate` writes reports under reports/nlu/; `brobygger calibrate` fits per-language fallback
thresholds on a validation split of the *training* data.
"""
