"""Counsellors' opening hours and what a citizen is told outside them."""

from datetime import UTC, datetime

import pytest

from bot.conversations.hours import DAYS, OpeningHours, parse

HOURS = "mon-fri 09:00-16:00; sat 10:00-13:00"


def cph(*args) -> datetime:
    return datetime(*args, tzinfo=OpeningHours(HOURS).zone)


def test_open_and_closed_in_copenhagen_time():
    hours = OpeningHours(HOURS)
    assert hours.is_open(cph(2026, 11, 23, 9, 0))  # Monday 09:00
    assert not hours.is_open(cph(2026, 11, 23, 16, 0))
    assert hours.is_open(datetime(2026, 11, 28, 9, 30, tzinfo=UTC))  # Saturday 10:30 in Copenhagen
    assert not hours.is_open(cph(2026, 11, 29, 11, 0))  # Sunday


def test_the_next_opening_skips_to_the_right_day():
    hours = OpeningHours(HOURS)
    assert hours.next_opening(cph(2026, 11, 23, 17, 0)) == cph(2026, 11, 24, 9, 0)  # Monday evening → Tuesday
    assert hours.next_opening(cph(2026, 11, 28, 14, 0)) == cph(2026, 11, 30, 9, 0)  # Saturday afternoon → Monday
    assert hours.next_opening(cph(2026, 11, 23, 7, 0)) == cph(2026, 11, 23, 9, 0)
    assert OpeningHours("").always and OpeningHours("").next_opening(cph(2026, 11, 23, 7, 0)) is None


@pytest.mark.parametrize("language, weekday", [("da", "tirsdag"), ("ar", "الثلاثاء"), ("so", "Talaado"),
                                               ("tr", "Salı"), ("en", "Tuesday")])
def test_the_opening_is_said_in_the_citizens_language(language, weekday):
    assert weekday in OpeningHours.describe(cph(2026, 11, 24, 9, 0), language)


@pytest.mark.parametrize("spec", ["monday 9-16", "mon-fri 16:00-09:00", "xyz 09:00-10:00", "mon 9:00"])
def test_bad_hours_are_refused_with_an_example(spec):
    with pytest.raises(ValueError, match="opening hours"):
        parse(spec)


def test_outside_hours_the_handoff_says_when_and_gives_the_emergency_number(client, monkeypatch):
    """Through the action server, as Rasa calls it."""
    from bot.conversations import service

    settings = client.app.state.services.settings
    today = datetime.now(OpeningHours("").zone).weekday()
    settings.counsellor_hours = f"{DAYS[(today + 3) % 7]} 09:00-10:00"  # closed today, whatever the time
    opens = OpeningHours(settings.counsellor_hours).next_opening(datetime.now(UTC))
    store = client.app.state.services.store
    conversation = service.get_or_create(store, "webchat", "hours-test-conversation", "so")
    call = {"next_action": "action_handoff", "sender_id": conversation.engine_sender_id, "version": "3.6.0",
            "tracker": {"sender_id": conversation.engine_sender_id, "slots": {}, "events": [],
                        "latest_message": {"text": "QOF", "intent": {"name": "request_human"}, "entities": [],
                                           "metadata": {"language": "so"}}},
            "domain": {}}
    response = client.post("/rasa/actions", json=call, headers={"X-Action-Token": settings.action_token})
    assert response.status_code == 200, response.text
    body = response.json()
    [reply] = body["responses"]
    assert reply["custom"]["key"] == "human_handoff_closed"
    assert reply["custom"]["args"]["opens"] == OpeningHours.describe(opens, "so")
    assert opens.date() != datetime.now(opens.tzinfo).date()
    assert {"event": "pause"} in body["events"]
    assert service.find(store, "webchat", "hours-test-conversation").state == "queued"


def test_a_conversation_waits_only_when_every_team_speaking_its_language_is_closed():
    from bot.conversations.hours import availability, schedules_for

    teams = {"Somali team": {"so", "da"}, "Arabic team": {"ar", "da"}}
    hours = {"Somali team": "mon-fri 09:00-12:00", "Arabic team": "mon-fri 12:00-18:00"}
    afternoon = cph(2026, 11, 23, 14, 0)  # Monday
    somali = availability(schedules_for(hours, "", teams, "so"), afternoon)
    assert not somali.open_now and somali.opens == cph(2026, 11, 24, 9, 0)
    assert availability(schedules_for(hours, "", teams, "ar"), afternoon).open_now
    assert availability(schedules_for(hours, "", teams, "da"), afternoon).open_now  # one of two is open
    # No team speaks Turkish: every team's hours count.
    assert availability(schedules_for(hours, "", teams, "tr"), afternoon).open_now
    assert availability(schedules_for({}, "", teams, "so"), afternoon).open_now  # nothing configured


def test_team_hours_come_from_the_counsellors_organisations(client):
    from bot.users.service import add_user, team_languages

    store = client.app.state.services.store
    add_user(store, "Hodan", "counsellor", ["so", "da"], "Somali team", ["Midtjylland"])
    add_user(store, "Amal", "counsellor", ["ar"], "Arabic team", [])
    add_user(store, "Ole", "counsellor", ["da"])
    assert team_languages(store) == {"Somali team": {"so", "da"}, "Arabic team": {"ar"}}


def test_wrong_hours_in_the_settings_stop_the_start_with_an_example():
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="mon-fri 09:00-16:00"):
        Settings(counsellor_hours="monday 9-16")
    with pytest.raises(ValidationError, match="opening hours"):
        Settings(team_hours={"Team": "mon 16:00-09:00"})
