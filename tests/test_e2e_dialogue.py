"""Whole conversations in every language through the web chat API, the real Rasa server and the app.

The citizens' messages were written for these tests (not taken from training or evaluation data).
Each flow asserts what the citizen reads, in their language, and what the store and Rasa keep.
"""

import uuid
from dataclasses import dataclass

import httpx
import pytest
import yaml
from sqlalchemy import select

from bot.conversations import service
from bot.conversations.models import Conversation
from bot.i18n.bidi import LRM, RLM
from bot.settings import REPO_ROOT
from tests.conftest import tap_find_help_if_offered

pytestmark = pytest.mark.slow

LANGUAGES = ["da", "ar", "so", "tr", "fa"]


@dataclass(frozen=True)
class Script:
    need: str
    place: str
    more: str
    thanks: str
    yes: str
    delete: str
    person: str
    language_word: str
    crisis: str
    new_need: str
    send_second: str  # "send me number 2"
    send_it: str  # "send it to me" (no number)


SCRIPTS = {
    "da": Script("jeg er tit alene og kunne godt tænke mig at møde nogen", "Odense", "flere", "mange tak", "ja",
                 "SLET", "PERSON", "SPROG", "jeg orker ikke mere, jeg vil tage mit eget liv",
                 "har I også noget om gæld og økonomi", "må jeg få nummer 2 tilsendt som sms",
                 "send det til min telefon"),
    "ar": Script("أبحث عن مكان ألتقي فيه بناس، أشعر بالوحدة كثيرًا", "Aarhus", "المزيد", "شكرًا جزيلًا", "نعم",
                 "حذف", "شخص", "لغة", "أريد أن أنهي حياتي الليلة", "وأيضًا أحتاج مساعدة في الديون والفواتير",
                 "ابعتلي رقم 2 برسالة لو سمحت", "أرسلها لي على الجوال"),
    "so": Script("deyn badan ayaa igu jirta, ma jiraa qof iga caawiya lacagta", "Odense", "KALE", "mahadsanid",
                 "haa", "TIRTIR", "QOF", "LUQAD", "waxaan doonayaa inaan is dilo",
                 "sidoo kale waxaan rabaa inaan joojiyo sigaarka", "ii soo dir kan labaad fariin ahaan",
                 "taleefankayga ii soo dir"),
    "tr": Script("sigarayı bırakmak istiyorum, bana yardım eden bir yer var mı", "Odense", "DAHA",
                 "çok teşekkürler", "evet", "SİL", "İNSAN", "DİL", "kendimi öldürmek istiyorum",
                 "bir de borçlarım için yardım arıyorum", "ikinciyi bana mesajla gönderir misiniz",
                 "bunu telefonuma gönder"),
    "fa": Script("دنبال گروهی برای زنان باردار هستم", "Aarhus", "بیشتر", "خیلی ممنون", "بله", "حذف", "مشاور",
                 "زبان", "میخواهم خودم را بکشم", "برای بدهی و قرض هم کمک میخواهم",
                 "دومی را برایم پیامک کنید", "اینو برام بفرست"),
}
# Where the language switch goes from each language, by the name the menu shows.
SWITCH_TO = {"da": "ar", "ar": "da", "so": "tr", "tr": "so", "fa": "da"}
GIBBERISH = ["qwpoeiruty zxmcnbv", "sdkjfh wqpoeir zmxn", "xkcdqv plmokn"]


def new_id(label: str) -> str:
    return f"e2e-{label}-{uuid.uuid4().hex[:8]}"


def conversation_of(live, external_id: str) -> Conversation:
    with live.services.store.session() as session:
        return session.scalar(select(Conversation).where(Conversation.external_id == external_id))


def plain(text: str) -> str:
    """Without the direction marks Arabic and Farsi replies carry around Latin names and numbers."""
    return text.replace(LRM, "").replace(RLM, "")


def texts(reply: dict) -> list[str]:
    return [m["text"] for m in reply["messages"]]


def expected(live, key: str, language: str, **args) -> str:
    return live.services.renderer.render(key, language, args).text


def rasa_events(live, sender_id: str) -> list[dict]:
    settings = live.services.settings
    response = httpx.get(f"http://{settings.rasa_host}:{settings.rasa_port}/conversations/{sender_id}/tracker",
                         params={"token": settings.rasa_token}, timeout=30)
    response.raise_for_status()
    return response.json()["events"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_need_place_offers_more_details_and_feedback(live, language):
    """Need → municipality → offers (turn 2) → more → details of number 2 → thanks → "did it help?" → 1
    → a new need, searched in the same municipality."""
    script, cid = SCRIPTS[language], new_id(f"flow-{language}")
    first = live.say(cid, script.need, language).json()
    # First contact: the privacy notice once, then the question.
    assert texts(first) == [expected(live, "privacy_notice", language, days=live.settings.retention_days),
                            expected(live, "ask_municipality", language)]
    assert first["messages"][0]["quick_replies"] and len(first["messages"][0]["quick_replies"]) == 5

    listed = live.say(cid, script.place).json()
    offers = listed["messages"][-1]["offers"]
    assert listed["language"] == language and len(offers) == 3
    assert texts(listed)[0] == expected(live, "municipality_noted", language, municipality=script.place)
    assert all(offer["title"] in plain(listed["messages"][-1]["text"]) for offer in offers)
    assert expected(live, "privacy_notice", language, days=live.settings.retention_days) not in texts(listed)

    more = live.say(cid, script.more).json()
    next_offers = more["messages"][-1].get("offers")
    if next_offers:  # the next three, numbered on from 4
        assert not {o["id"] for o in next_offers} & {o["id"] for o in offers}
        assert "4. " in more["messages"][-1]["text"]
    else:
        assert texts(more)[-1] == expected(live, "no_more_offers", language)

    details = live.say(cid, "2").json()
    assert details["messages"][-1]["offers"][0]["id"] == offers[1]["id"]
    assert details["messages"][-1]["text"] == expected(live, "offer_details", language, offer=details[
        "messages"][-1]["offers"][0])

    asked = live.say(cid, script.thanks).json()
    assert texts(asked) == [expected(live, "feedback_ask", language)]
    thanked = live.say(cid, "1").json()
    assert texts(thanked) == [expected(live, "feedback_thanks_yes", language)]
    conversation = conversation_of(live, cid)
    feedback = service.feedback_of(live.services.store, conversation.id)
    assert [(f.helped, f.language) for f in feedback] == [(True, language)]
    assert set(feedback[0].offer_ids) >= {o["id"] for o in offers}

    # A new need searches again where the citizen lives, without asking again.
    again, _ = tap_find_help_if_offered(live, cid, live.say(cid, script.new_need).json())
    assert again["messages"][-1].get("offers"), texts(again)
    assert expected(live, "ask_municipality", language) not in texts(again)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_place_is_asked_once_more_then_all_of_denmark_is_searched(live, language):
    script, cid = SCRIPTS[language], new_id(f"noplace-{language}")
    live.say(cid, script.need, language)
    again = live.say(cid, "Sankt Blomby").json()
    assert texts(again) == [expected(live, "place_unknown", language), expected(live, "ask_municipality", language)]
    national = live.say(cid, "Vester Klumpby").json()
    assert expected(live, "place_whole_country", language) in texts(national)
    offers = national["messages"][-1]["offers"]
    assert offers and all(offer["scope"] != "local" or offer["tier"] == "national" for offer in offers)


@pytest.mark.parametrize("language", LANGUAGES)
def test_stop_confirms_once_then_start_welcomes_back(live, language):
    cid = new_id(f"stop-{language}")
    live.say(cid, SCRIPTS[language].need, language)
    stopped = live.say(cid, "STOP").json()
    assert texts(stopped) == [expected(live, "opt_out_confirm", language)]
    conversation = conversation_of(live, cid)
    assert service.opted_out(live.services.store, conversation.id)
    back = live.say(cid, "START").json()
    assert texts(back) == [expected(live, "welcome", language)]
    assert not service.opted_out(live.services.store, conversation.id)


@pytest.mark.parametrize("language", LANGUAGES)
def test_delete_asks_then_erases_the_store_and_the_rasa_tracker(live, language):
    script, cid = SCRIPTS[language], new_id(f"delete-{language}")
    live.say(cid, script.need, language)
    live.say(cid, script.place)
    conversation = conversation_of(live, cid)
    assert len(rasa_events(live, conversation.engine_sender_id)) > 5
    asked = live.say(cid, script.delete).json()
    assert texts(asked) == [expected(live, "delete_data_ask", language)]
    assert asked["messages"][-1]["quick_replies"] == [live.services.renderer.text("choice_yes", language),
                                                      live.services.renderer.text("choice_no", language)]
    done = live.say(cid, script.yes).json()
    assert texts(done) == [expected(live, "delete_data_done", language)]
    assert service.messages_of(live.services.store, conversation.id) == []
    left = [e for e in rasa_events(live, conversation.engine_sender_id) if e["event"] in ("user", "bot", "slot")]
    assert not left, [(e["event"], e.get("name"), e.get("value"), e.get("text")) for e in left]
    # The next message is a new first contact: the privacy notice comes again.
    again = live.say(cid, script.need).json()
    assert expected(live, "privacy_notice", language, days=live.settings.retention_days) in texts(again)


@pytest.mark.parametrize("language", LANGUAGES)
def test_switching_language_mid_conversation_by_the_menu(live, language):
    script, cid = SCRIPTS[language], new_id(f"switch-{language}")
    renderer = live.services.renderer
    live.say(cid, script.need, language)
    menu = live.say(cid, script.language_word).json()
    assert texts(menu)[0] == expected(live, "language_menu", language)
    target = SWITCH_TO[language]
    name = renderer.language_name(target, target)
    assert name in menu["messages"][0]["quick_replies"]
    switched = live.say(cid, name).json()
    assert switched["language"] == target
    assert expected(live, "language_changed", target) in texts(switched)
    # The search form goes on in the new language.
    assert texts(switched)[-1] == expected(live, "ask_municipality", target)
    listed = live.say(cid, "Odense").json()
    assert listed["language"] == target and listed["messages"][-1]["text"] == expected(
        live, "offer_list", target, offers=listed["messages"][-1]["offers"], start=1, municipality="Odense")


@pytest.mark.parametrize("language", LANGUAGES)
def test_three_misunderstandings_in_a_row_offer_a_person(live, language):
    script, cid = SCRIPTS[language], new_id(f"fallback-{language}")
    first = live.say(cid, GIBBERISH[0], language).json()
    suggestion = first["messages"][-1]
    assert suggestion["text"].startswith(expected(live, "fallback_suggest", language, suggestions=[], text="")[:15])
    assert len(suggestion["quick_replies"]) == 2
    second = live.say(cid, GIBBERISH[1], language).json()
    assert texts(second) == [expected(live, "fallback", language)]
    third = live.say(cid, GIBBERISH[2], language).json()
    assert texts(third) == [expected(live, "fallback_offer_human", language)]
    assert third["escalated"] is False
    handed = live.say(cid, script.person).json()
    assert texts(handed) == [expected(live, "human_handoff", language)]
    assert handed["escalated"] is True and conversation_of(live, cid).state == "queued"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_suggestion_searches_for_what_the_citizen_first_wrote(live, language):
    """Tapping "find help for this" after a misunderstanding searches for the misunderstood words."""
    cid = new_id(f"suggest-{language}")
    renderer = live.services.renderer
    first = live.say(cid, GIBBERISH[0], language).json()
    label = renderer.text("choice_seek_support", language)
    assert label in first["messages"][-1]["quick_replies"]
    searched = live.say(cid, label).json()
    # The search ran (it asks where the citizen lives) rather than reading the button's words as a need.
    assert texts(searched)[-1] == expected(live, "ask_municipality", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_crisis_gets_the_emergency_reply_in_the_language_and_urgent_escalation(live, language):
    cid = new_id(f"crisis-{language}")
    reply = live.say(cid, SCRIPTS[language].crisis, language).json()
    assert texts(reply)[0] == expected(live, "crisis", language)
    # On first contact the privacy notice comes after the emergency numbers, never before.
    assert texts(reply)[-1] == expected(live, "privacy_notice", language, days=live.settings.retention_days)
    conversation = conversation_of(live, cid)
    assert reply["escalated"] is True and conversation.priority == "urgent"


# Written for this test: violence at home happening now, and someone who collapsed and is not breathing.
VIOLENCE = {"da": "min mand slår mig, og jeg tør ikke gå hjem i aften",
            "ar": "زوجي يضربني الآن وأنا خائفة على حياتي",
            "so": "ninkeygu hadda wuu i garaacayaa, waan baqayaa",
            "tr": "kocam şu an bana vuruyor, çok korkuyorum",
            "fa": "شوهرم الان منو میزنه و میترسم"}
NOT_BREATHING = {"da": "min far er faldet om og trækker ikke vejret",
                 "ar": "أبي سقط على الأرض ولا يتنفس",
                 "so": "aabahay wuu dhacay oo ma neefsanayo",
                 "tr": "babam yere düştü ve nefes almıyor",
                 "fa": "پدرم افتاد زمین و نفس نمیکشد"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_violence_at_home_and_a_medical_emergency_get_their_own_emergency_reply(live, language):
    """Through Rasa and the action server: the reply names Lev Uden Vold's 1888 for violence at home and sends
    a medical emergency to 112 without the psychiatric ward; both are escalated as urgent."""
    for label, text, key in (("violence", VIOLENCE[language], "crisis_violence"),
                             ("medical", NOT_BREATHING[language], "crisis_medical")):
        cid = new_id(f"{label}-{language}")
        reply = live.say(cid, text, language).json()
        assert texts(reply)[0] == expected(live, key, language), (label, texts(reply))
        assert ("1888" in plain(texts(reply)[0])) == (label == "violence")
        # BørneTelefonen follows the violence reply (for a child writing), nothing follows the medical one.
        follow_up = [expected(live, "crisis_children_line", language)] if label == "violence" else []
        assert texts(reply)[1:1 + len(follow_up)] == follow_up, (label, texts(reply))
        conversation = conversation_of(live, cid)
        assert reply["escalated"] is True and conversation.priority == "urgent"


DIALOGUE_SCRIPTS = yaml.safe_load((REPO_ROOT / "tests" / "data" / "dialogue" / "scripts.yml").read_text("utf-8"))


@pytest.mark.parametrize("script", DIALOGUE_SCRIPTS["scripts"], ids=lambda s: f"{s['language']}-{s['name']}")
def test_every_script_reaches_offers_in_the_language_within_three_turns(live, script):
    """From "hello" to a concrete offer in three turns or fewer (the benchmark reports the median)."""
    assert len(script["turns"]) <= 3
    cid = new_id(f"script-{script['language']}")
    for turn, text in enumerate(script["turns"], start=1):
        reply = live.say(cid, text, script["language"] if turn == 1 else None).json()
        assert reply["language"] == script["language"]
        listed = [m for m in reply["messages"] if m.get("offers")]
        if turn < len(script["turns"]):
            assert not listed, f"offers already at turn {turn}: the script is longer than it needs to be"
    assert listed and 1 <= len(listed[-1]["offers"]) <= 3, texts(reply)


@pytest.mark.parametrize("language", LANGUAGES)
def test_send_me_that_gives_one_offer_to_keep(live, language):
    """"Send me number 2" sends offer 2 as one message; "send it" after details sends that offer; without
    a number or details it asks which, and the answer "3" sends offer 3."""
    script, cid = SCRIPTS[language], new_id(f"send-{language}")
    live.say(cid, script.need, language)
    offers = live.say(cid, script.place).json()["messages"][-1]["offers"]
    sent = live.say(cid, script.send_second).json()
    card = sent["messages"][-1]
    assert card["offers"][0]["id"] == offers[1]["id"], texts(sent)
    assert card["text"] == expected(live, "offer_card", language, offer=card["offers"][0])

    live.say(cid, "1")  # details of the first offer
    again = live.say(cid, script.send_it).json()
    assert again["messages"][-1]["offers"][0]["id"] == offers[0]["id"], texts(again)

    other = new_id(f"send-which-{language}")
    live.say(other, script.need, language)
    shown = live.say(other, script.place).json()["messages"][-1]["offers"]
    which = live.say(other, script.send_it).json()
    assert texts(which) == [expected(live, "offer_send_which", language, count=3)]
    chosen = live.say(other, "3").json()
    assert chosen["messages"][-1]["offers"][0]["id"] == shown[2]["id"], texts(chosen)
    assert chosen["messages"][-1]["text"].startswith(expected(live, "offer_card", language,
                                                               offer=chosen["messages"][-1]["offers"][0])[:10])


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_sms_conversation_gets_sms_sized_offers_in_the_language(live, language):
    """Through the signed Twilio webhook: the need, the place, offers as plain SMS within the budget."""
    import xml.etree.ElementTree as ET

    from twilio.request_validator import RequestValidator

    from bot.i18n import sms

    settings = live.services.settings
    settings.twilio_auth_token, settings.secret_key = "e2e-twilio-token", "e2e-secret"
    url = settings.app_url + "/channels/twilio/sms"
    number = f"+45{uuid.uuid4().int % 10**8:08d}"

    def text_message(body: str, sid: str) -> list[str]:
        params = {"MessageSid": sid, "From": number, "To": "+4570000000", "Body": body, "NumMedia": "0"}
        signature = RequestValidator(settings.twilio_auth_token).compute_signature(url, params)
        response = live.http.post("/channels/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.text
        return [m.text for m in ET.fromstring(response.text).iter("Message")]

    script = SCRIPTS[language]
    asked = text_message(script.need, f"SM{uuid.uuid4().hex}")
    assert asked[-1] == live.services.renderer.render("ask_municipality", language, channel="sms").text
    listed = text_message(script.place, f"SM{uuid.uuid4().hex}")
    offer_list = listed[-1]
    assert live.services.renderer.render("offers_next_steps", language, channel="sms").text in offer_list
    assert "1. " in plain(offer_list) and "3. " in plain(offer_list)
    for message in asked + listed:
        cost = sms.cost(message)
        assert cost.segments <= sms.budget(language), (message, cost)
        assert (cost.encoding == "GSM-7") == (language in ("da", "so", "tr")), message
