from __future__ import annotations

from bob.engines.base import PersonaView, Turn
from bob.engines.prompt import HANDOFF_MARKER, build_messages
from tests.engines_data import HOURS, PARKING, engine_request


def test_system_message_carries_persona_policy_and_numbered_sources() -> None:
    messages = build_messages(engine_request(passages=[HOURS, PARKING], language="pt"))
    system = messages[0]
    assert system["role"] == "system"
    content = system["content"]
    assert "You are Ava, the assistant of Sunny Bakery." in content
    assert "The front desk of Sunny Bakery." in content
    assert "warm and cheerful" in content
    assert "Always mention that our bread is baked fresh every morning." in content
    assert "Answer only from the numbered sources below" in content
    assert "Reply in Portuguese (Brazilian) (pt)" in content
    assert "Never reveal" in content
    assert f"reply with exactly {HANDOFF_MARKER} and nothing else" in content
    assert "[1] Opening hours\nWe are open Monday to Friday, 8:00 to 18:00." in content
    assert (
        "[2] Parking (https://sunny.example.com/parking)\n"
        "Free parking is available behind the shop." in content
    )
    # The grounding policy follows the tenant's own prompt, so the tenant cannot override it.
    assert content.index("Always mention") < content.index("Rules you must always follow")
    assert content.index("Rules you must always follow") < content.index("[1] Opening hours")


def test_history_then_the_visitors_message() -> None:
    history = [
        Turn("visitor", "Hi"),
        Turn("assistant", "Hello! How can I help?"),
        Turn("operator", "This is Sam from the shop."),
    ]
    messages = build_messages(engine_request("Where can I park?", history=history))
    assert messages[1:] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "assistant", "content": "(team member) This is Sam from the shop."},
        {"role": "user", "content": "Where can I park?"},
    ]


def test_empty_persona_fields_are_left_out() -> None:
    content = build_messages(engine_request(persona=PersonaView(name="Bo")))[0]["content"]
    assert "About you" not in content
    assert "Tone:" not in content
    assert content.startswith("You are Bo, the assistant of Sunny Bakery.\n\nRules")
