"""Input checks shared by every API that accepts citizen text."""

from bot import SUPPORTED_LANGUAGES


def check_language(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if code not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {value!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}")
    return code


def check_text(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("text must not be empty")
    return value
