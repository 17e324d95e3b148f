"""Pictures for the admin console: macro-F1 per language across model versions (matplotlib)."""

import io

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from nlu.evaluation.datasets import EVALUATED_LANGUAGES  # noqa: E402
from nlu.evaluation.report import confusion_png  # noqa: E402
from nlu.registry.gate import MAX_F1_DROP  # noqa: E402


def history_png(versions: list) -> bytes:
    """One line per language: macro-F1 of each evaluated version, in the order they were made."""
    evaluated = [v for v in versions if v.metrics]
    fig, ax = plt.subplots(figsize=(8, 4))
    if evaluated:
        positions = range(1, len(evaluated) + 1)
        for language in EVALUATED_LANGUAGES:
            scores = [v.metrics["languages"].get(language, {}).get("macro_f1") for v in evaluated]
            ax.plot(positions, scores, marker="o", label=language)
        ax.set_xticks(list(positions), [f"v{v.id}" + (" ●" if v.state == "active" else "") for v in evaluated])
        ax.legend(loc="lower left", fontsize=8, ncols=5)
    else:
        ax.text(0.5, 0.5, "no evaluated model yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("intent macro-F1 (held-out)")
    ax.set_xlabel(f"model version (● active; the gate allows a drop of {MAX_F1_DROP})")
    ax.set_ylim(0.5, 1.01)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()


def confusion(metrics: dict, language: str, title: str) -> bytes:
    out = io.BytesIO()
    confusion_png(metrics["languages"][language]["confusion"], out, title)
    return out.getvalue()
