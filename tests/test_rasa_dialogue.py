"""Rasa's own checks of the dialogue: `rasa data validate` and the test stories against the trained model."""

import re
import subprocess
from pathlib import Path

import pytest

from bot.engine.process import CONFIG, DIALOGUE_DATA, DOMAIN, NLU_DATA, engine_env, rasa_command
from bot.settings import REPO_ROOT, get_settings

pytestmark = pytest.mark.slow

TEST_STORIES = REPO_ROOT / "tests" / "rasa" / "test_stories.yml"
# Rasa reports these although they are used: the search form asks with utter_ask_municipality by
# naming convention, and utter_default is what Rasa's own default fallback action says.
KNOWN_FALSE_WARNINGS = {
    "The utterance 'utter_ask_municipality' is not used in any story or rule.",
    "The utterance 'utter_default' is not used in any story or rule.",
}


def run_rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    settings = get_settings()
    return subprocess.run(rasa_command(settings, "launcher", *args), cwd=REPO_ROOT, env=engine_env(settings),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_rasa_data_validate_is_clean():
    result = run_rasa("data", "validate", "--domain", str(DOMAIN), "--data", str(DIALOGUE_DATA), str(NLU_DATA),
                      "--config", str(CONFIG))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = {m.strip() for m in re.findall(r"UserWarning: (.*)", output)}
    assert warnings <= KNOWN_FALSE_WARNINGS, warnings - KNOWN_FALSE_WARNINGS
    assert "error" not in output.lower().replace("errors", ""), output[-3000:]


def test_every_test_story_is_predicted_by_the_trained_model(trained_model: Path, tmp_path: Path):
    result = run_rasa("test", "core", "--model", str(trained_model), "--stories", str(TEST_STORIES),
                      "--out", str(tmp_path), "--fail-on-prediction-errors")
    failed = tmp_path / "failed_test_stories.yml"
    assert result.returncode == 0, (failed.read_text() if failed.exists() else "") + result.stderr[-3000:]
    assert "None of the test stories failed" in failed.read_text()
