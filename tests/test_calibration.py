"""How calibration picks a fallback threshold (the pure part; the model side runs in `brobygger calibrate`)."""

from nlu.evaluation.calibrate import FALLBACK, best_threshold, nonsense_rejected, predictions


def test_the_threshold_rejects_nonsense_before_it_maximises_f1():
    truth = ["greet", FALLBACK, FALLBACK, "deny", FALLBACK]
    ranked = [("greet", 0.95), ("greet", 0.6), ("out_of_scope", 0.99), ("deny", 0.5), ("thank", 0.92)]
    threshold, _ = best_threshold(truth, ranked)
    # 0.92's nonsense "thank" can't be rejected by any threshold up to 0.90: the one rejecting most wins,
    # and among those the best F1 (keeping "greet" at 0.95, losing "deny" at 0.5).
    assert threshold == 0.65
    assert nonsense_rejected(truth, predictions(ranked, threshold)) == 2  # fallback + out_of_scope


def test_predictions_fall_back_under_the_threshold():
    assert predictions([("greet", 0.4), ("deny", 0.8)], 0.5) == [FALLBACK, "deny"]
