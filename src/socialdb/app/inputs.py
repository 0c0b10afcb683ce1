"""What the platform's calls take: a webhook's message and an analytics event.

Both are checked when made, so that a bad value fails with one clear line and no round trip;
the database refuses the same whatever the caller (CHECKs of migrations 001-011, 028, 041).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from socialdb.errors import FieldLimitError

# What a platform may send, in characters: the bounds the schema's CHECKs hold (001-011,
# 041; decision 113), checked here first so that a call fails with one clear line and no
# round trip. The database refuses the same whatever the caller.
LIMITS = {
    "platform_conversation_id": 255,
    "participant_platform_id": 255,
    "platform_message_id": 255,
    "participant_username": 255,
    "content": 8192,  # WhatsApp's 4,096-character text limit, twice
}
_OPTIONAL = {"participant_username", "content"}  # may be None (or empty); the ids may not


@dataclass(frozen=True)
class IncomingMessage:
    """One message as a webhook delivers it; refused (FieldLimitError) over a platform's bound."""

    client_account_id: UUID
    platform_conversation_id: str
    participant_platform_id: str
    platform_message_id: str
    sender_type: str  # "customer" or "user"
    sent_at: datetime
    content: str | None = None
    message_type: str = "text"
    participant_username: str | None = None

    def __post_init__(self) -> None:
        # Every webhook makes one: the common case is one expression (LIMITS' bounds, written
        # out); the loop below finds and names the field at fault.
        username, content = self.participant_username, self.content
        if (
            type(self.platform_conversation_id) is str
            and 0 < len(self.platform_conversation_id) <= 255
            and type(self.participant_platform_id) is str
            and 0 < len(self.participant_platform_id) <= 255
            and type(self.platform_message_id) is str
            and 0 < len(self.platform_message_id) <= 255
            and (username is None or (type(username) is str and len(username) <= 255))
            and (content is None or (type(content) is str and len(content) <= 8192))
        ):
            return
        self._refuse()

    def _refuse(self) -> None:
        for field_name, limit in LIMITS.items():
            value = getattr(self, field_name)
            if value is None and field_name in _OPTIONAL:
                continue
            if not isinstance(value, str) or not (field_name in _OPTIONAL or value) or len(value) > limit:
                shown = f"{len(value)} characters" if isinstance(value, str) else f"a {type(value).__name__}"
                bound = f"at most {limit}" if field_name in _OPTIONAL else f"from 1 to {limit}"
                raise FieldLimitError(
                    f"message {str(self.platform_message_id)[:64]!r}: {field_name} has {shown},"
                    f" {bound} (docs/security.md, platform bounds)"
                )


@dataclass(frozen=True)
class NewEvent:
    """An analytics event of the session's seller (socialdb.app.session.Session.record_events)."""

    client_account_id: UUID | None
    event_type: str
    event_category: str
    occurred_at: datetime
    value: Decimal | None = None
    entity_type: str | None = None
    entity_id: UUID | None = None
