"""The promotion gate: a candidate may replace the active model only if no language gets worse.

Two rules, per language, on the held-out tests:
  * intent macro-F1 may drop by at most MAX_F1_DROP (an administrator may override this one, with a
    written reason, e.g. when the test set itself was corrected);
  * crisis recall may not fall: the bar is 1.0, and a candidate may never catch fewer crisis messages
    than the model it replaces. Nobody can override this. (Crisis is decided by the app's crisis
    screen — rules and classifier — not by the dialogue model, so this moves only when the screen's
    rules or data changed between the two evaluations.)
"""

MAX_F1_DROP = 0.01
CRISIS_BAR = 1.0
_EPSILON = 1e-9  # metrics are rounded to 4 decimals; a drop of exactly 0.01 passes


def verdict(candidate: dict, baseline: dict) -> dict:
    languages, reasons = {}, []
    for language, now in candidate["languages"].items():
        before = baseline["languages"].get(language)
        if before is None:
            continue  # a language the active model was never tested on cannot regress
        drop = round(before["macro_f1"] - now["macro_f1"], 4)
        crisis_floor = min(CRISIS_BAR, before["crisis_recall"])
        f1_ok = drop <= MAX_F1_DROP + _EPSILON
        crisis_ok = now["crisis_recall"] + _EPSILON >= crisis_floor
        languages[language] = {
            "baseline_f1": before["macro_f1"], "candidate_f1": now["macro_f1"], "drop": drop, "f1_ok": f1_ok,
            "baseline_crisis_recall": before["crisis_recall"], "crisis_recall": now["crisis_recall"],
            "crisis_ok": crisis_ok,
        }
        if not f1_ok:
            reasons.append(f"{language}: macro-F1 {now['macro_f1']:.3f} is {drop:.3f} below the active model's "
                           f"{before['macro_f1']:.3f} (at most {MAX_F1_DROP} allowed)")
        if not crisis_ok:
            reasons.append(f"{language}: crisis recall {now['crisis_recall']:.2f} is below "
                           f"{crisis_floor:.2f} — crisis is never overridden")
    f1_ok = all(v["f1_ok"] for v in languages.values())
    crisis_ok = all(v["crisis_ok"] for v in languages.values())
    return {"max_f1_drop": MAX_F1_DROP, "crisis_bar": CRISIS_BAR, "languages": languages,
            "f1_ok": f1_ok, "crisis_ok": crisis_ok, "passed": f1_ok and crisis_ok, "reasons": reasons}
