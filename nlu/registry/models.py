"""Model versions, their activations (the history rollback walks) and training jobs."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import utcnow
from bot.store.db import Base

# candidate → active → retired (replaced by a promotion) | rolled_back (replaced by a rollback)
CANDIDATE, ACTIVE, RETIRED, ROLLED_BACK = "candidate", "active", "retired", "rolled_back"


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)  # the model file's name, e.g. brobygger-<hash>
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # deployment (make run) | training (the review loop)
    state: Mapped[str] = mapped_column(String(16), default=CANDIDATE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    job_id: Mapped[str | None] = mapped_column(String(32))
    learned_examples: Mapped[int | None] = mapped_column(Integer)
    # brobygger evaluate's report on the held-out tests (nlu.evaluation.evaluate).
    metrics: Mapped[dict | None] = mapped_column(JSON, default=None)
    # The gate's verdict against the model that was active when it was evaluated (nlu.registry.gate).
    gate: Mapped[dict | None] = mapped_column(JSON, default=None)


class Activation(Base):
    """A model went live: deployment, promotion or rollback, by whom and why."""

    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    action: Mapped[str] = mapped_column(String(16))  # deployment | promote | rollback
    user_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)  # an override of the F1 gate must say why
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingJob(Base):
    __tablename__ = "training_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|training|evaluating|done|failed
    stage: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    log_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
