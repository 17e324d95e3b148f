"""How a ranking of intents becomes the intent the bot acts on: per-language fallback thresholds.

One function shared by the Rasa component (nlu/rasa_components/pipeline/fallback.py, which applies it
to every message inside the engine) and the app's /api/nlu/parse (Rasa's /model/parse carries no
message metadata, so the language-specific bars are applied there from the same thresholds.json).
Pure Python that runs on 3.10 and 3.11: no imports from the app or from Rasa.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FALLBACK_INTENT = "nlu_fallback"
CRISIS_INTENT = "crisis"
THRESHOLDS_FILE = Path(__file__).resolve().parent / "rasa_components" / "pipeline" / "thresholds.json"
# Calibration points this at an empty file so the bars being fitted are not shaped by the installed ones.
THRESHOLDS_ENV = "BROBYGGER_THRESHOLDS_FILE"


def load_thresholds(path: Path | None = None) -> dict[str, dict[str, float]]:
    """Per-language bars fitted by `brobygger calibrate` ({} before the first calibration)."""
    path = Path(path or os.environ.get(THRESHOLDS_ENV) or THRESHOLDS_FILE)
    return json.loads(path.read_text())["languages"] if path.exists() else {}


def bars_for(language: str | None, per_language: dict[str, dict[str, float]],
             threshold: float, ambiguity: float) -> tuple[float, float]:
    """(threshold, ambiguity threshold) for a language, with the given defaults."""
    chosen = per_language.get(language or "", {})
    return chosen.get("threshold", threshold), chosen.get("ambiguity_threshold", ambiguity)


def decide(ranking: list[dict[str, Any]], threshold: float,
           ambiguity: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The intent to act on and the ranking it came from, without `crisis`.

    Crisis is decided before the engine sees a message, by the app's crisis screen (rules, then the
    crisis classifier: nlu/crisis/screen.py), which sends it as a forced intent. DIET's own `crisis`
    guess is dropped: on development messages nobody had tuned on it raised more false alarms than the
    classifier and caught fewer crises (nlu/crisis/classifier.py). The result falls back when the top
    confidence is under the threshold or the top two are closer than the ambiguity threshold.
    """
    ranking = [dict(r) for r in ranking if r.get("name") not in (FALLBACK_INTENT, CRISIS_INTENT)]
    top = ranking[0] if ranking else {"name": None, "confidence": 0.0}
    confidence = top.get("confidence") or 0.0
    ambiguous = len(ranking) >= 2 and confidence - (ranking[1].get("confidence") or 0.0) < ambiguity
    if confidence < threshold or ambiguous:
        return {"name": FALLBACK_INTENT, "confidence": threshold}, ranking
    return top, ranking
