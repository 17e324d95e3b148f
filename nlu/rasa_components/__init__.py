"""Code that runs inside the Rasa process (Python 3.10, .venv-rasa). Only Rasa imports this package;
the app never does. It must not import anything from the app's rooms."""
