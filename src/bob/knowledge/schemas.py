from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bob.knowledge.service import (
    MAX_CONTENT,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    MAX_URL,
    check_content,
    check_source_url,
    check_tags,
    check_title,
)
from bob.schemas import WriteModel

# The length bounds give clear messages and an accurate OpenAPI schema; the service's checks
# then trim and refuse what the bounds cannot see (blank text, NUL, a non-http URL).
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), AfterValidator(check_title)]
Content = Annotated[str, Field(min_length=1, max_length=MAX_CONTENT), AfterValidator(check_content)]
Tags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_TAG)]],
    Field(max_length=MAX_TAGS),
    AfterValidator(check_tags),
]
SourceUrl = Annotated[
    str,
    Field(max_length=MAX_URL, description="Where the content comes from: an http(s) URL."),
    AfterValidator(check_source_url),
]


class KnowledgeItemCreate(WriteModel):
    title: Title
    content: Content
    tags: Tags = []
    source_url: SourceUrl | None = None


class KnowledgeItemUpdate(WriteModel):
    """Omitted fields stay as they are; `source_url: null` removes the URL."""

    title: Title | None = None
    content: Content | None = None
    tags: Tags | None = None
    source_url: SourceUrl | None = None


class KnowledgeItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    content: str
    tags: list[str]
    source_url: str | None
    created_at: datetime
    updated_at: datetime


class KnowledgeItemPage(BaseModel):
    items: list[KnowledgeItemRead]
    next_cursor: str | None


class KnowledgeImportResult(BaseModel):
    count: int
    item_ids: list[uuid.UUID]


class KnowledgeSearchHit(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    chunk_id: int
    item_id: uuid.UUID
    title: str
    text: str
    score: float = Field(description="Share of the question's search terms the passage covers.")
    source_url: str | None


class KnowledgeSearchResult(BaseModel):
    terms: list[str] = Field(description="The search terms Bob read in the question.")
    hits: list[KnowledgeSearchHit]


class KnowledgeIndexingJob(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str = Field(description="`queued`, `running`, `done` or `failed`.")
    done: int = Field(validation_alias="progress_done", description="Passages embedded so far.")
    total: int = Field(validation_alias="progress_total", description="Passages to embed.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class KnowledgeIndexingRead(BaseModel):
    state: str = Field(
        description="`ready` (every passage has a vector), `indexing` (a job is running), "
        "`queued`, `pending` (not queued yet), `failed`, `off` or `unavailable` (no embedder: "
        "search by words only)."
    )
    model: str | None = Field(description="The embedding model the vectors belong to.")
    passages: int
    indexed: int = Field(description="Passages with a vector of the current model.")
    job: KnowledgeIndexingJob | None = Field(description="The current or last indexing job.")
    reason: str | None = Field(description="Why the embedder is unavailable or the job failed.")
