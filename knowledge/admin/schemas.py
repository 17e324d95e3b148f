"""The JSON shapes of the catalogue admin API."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class StaleOfferOut(BaseModel):
    id: str
    organisation: str
    last_verified: date | None = Field(description="ISO date; null when the offer was never verified")
    age_days: int | None = Field(description="days since last_verified; null when never verified")
    origin: str = Field(description="the catalogue file the offer is in")


class StaleReport(BaseModel):
    days: int = Field(description="the age limit asked for")
    total: int = Field(description="offers in the catalogue (the stale ones are listed in `stale`)")
    stale: list[StaleOfferOut] = Field(description="never verified first, then the oldest")


class ProblemOut(BaseModel):
    source: str = Field(description="the uploaded file ('upload') or the catalogue file concerned")
    where: str = Field(description="e.g. 'row 3' (CSV), 'service 2 (name)' (HSDS), 'line 4, column 7', 'file'")
    field: str = Field(description="the CSV column, or the offer field's dotted path; empty for the whole entry")
    message: str


class ImportReportOut(BaseModel):
    valid: bool = Field(description="true when there is no problem (and the import was or could be written)")
    offers: int = Field(description="offers read from the upload without a problem")
    added: int = Field(description="new offers (on a dry run: would be added)")
    replaced: int = Field(description="offers whose id was already in the target file (would be) replaced")
    written: bool = Field(description="whether the target file was changed; false on a dry run or any problem")
    target: str = Field(description="the catalogue file the offers go into")
    problems: list[ProblemOut]


class JobStarted(BaseModel):
    job_id: str


class IndexJobOut(BaseModel):
    id: str
    state: Literal["running", "done", "failed"]
    done: int = Field(description="texts embedded so far (when done: the index's rows)")
    total: int = Field(description="texts to embed (0 until known)")
    message: str = Field(description="the current step, the outcome, or why it failed")
    started_at: datetime
    finished_at: datetime | None
