"""Starts Rasa's own CLI with quiet, deterministic settings.

Why a launcher: sanic re-enables DeprecationWarnings when it is imported, flooding the logs with
warnings from TensorFlow and friends. Filters must be installed *after* importing sanic.
Usage (from the repository root): python -m nlu.rasa_components.launcher <rasa args...>
"""

import os
import sys
import warnings


def quiet() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import sanic  # noqa: F401  (imported for its side effect on warning filters)

    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message=".*Slot auto-fill has been removed.*")


def main() -> None:
    quiet()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
