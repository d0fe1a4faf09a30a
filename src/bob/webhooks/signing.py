"""Standard Webhooks signing: `whsec_` secrets, sealed at rest, and the three headers."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from bob.auth import tokens
from bob.events.models import WebhookEndpoint
from bob.settings import Settings

_PURPOSE = "webhook-secrets"
SECRET_BYTES = 32  # the specification asks for 24 to 64 random bytes


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def seal(settings: Settings, secret: str) -> str:
    return tokens.encrypt(settings.secret, _PURPOSE, secret)


def unseal(settings: Settings, sealed: str) -> str:
    """Raises tokens.SecretUnreadable when the installation secret changed."""
    return tokens.decrypt(settings.secret, _PURPOSE, sealed)


def signing_secrets(settings: Settings, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its 24 hours after a rotation last."""
    found = [unseal(settings, endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(unseal(settings, endpoint.previous_secret_encrypted))
    return found


def message_id(event_id: uuid.UUID) -> str:
    """`webhook-id`: one per event, the same on every retry and every endpoint, so receivers
    can recognise a message they already handled."""
    return f"msg_{event_id.hex}"


def headers(*, secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    # One signature per secret, space-separated: receivers accept the message if any matches.
    signature = " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
