"""Reading Rasa NLU YAML training data (shared by language id and evaluation)."""

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str


def read_nlu_yaml(path: Path, language: str) -> list[Example]:
    """Examples from a Rasa NLU YAML file (intent blocks with `- text` lines)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- ") and line[2:].strip():
                found.append(Example(line[2:].strip(), block["intent"], language))
    return found
