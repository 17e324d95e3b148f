"""Actions about the conversation itself: a person, a crisis, the language, deleting data."""

from starlette.concurrency import run_in_threadpool

from bot import SUPPORTED_LANGUAGES
from bot.actions.context import ActionContext
from bot.conversations import service
from bot.engine.actions import ActionResult
from nlu.normalise import fold

# Ways citizens name a language (folded). The NLU issue turns this into an entity.
LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "da": ("dansk", "danish", "danca", "danimarkaca", "daanish", "af deenish", "الدنماركیه", "دانمارکی", "دانمارکی"),
    "ar": ("arabic", "arabisk", "arapca", "carabi", "af carabi", "عربی", "العربیه", "عربیه"),
    "so": ("somali", "somalisk", "somalice", "soomaali", "af soomaali", "الصومالیه", "سومالیایی"),
    "tr": ("turkish", "tyrkisk", "turkce", "turkish", "turki", "التركیه", "ترکی"),
    "fa": ("farsi", "persian", "persisk", "farsca", "dari", "فارسی", "دری", "الفارسیه"),
    "en": ("english", "engelsk", "ingilizce", "ingiriis", "الانجلیزیه", "الانکلیزیه", "انگلیسی"),
}


def requested_language(text: str) -> str | None:
    folded = fold(text)
    for code, names in LANGUAGE_NAMES.items():
        if any(fold(name) in folded for name in names):
            return code
    return None


async def handoff(ctx: ActionContext) -> ActionResult:
    await run_in_threadpool(service.escalate, ctx.services.store, ctx.conversation_id, "normal", "request_human")
    return ActionResult().say("human_handoff")


async def crisis(ctx: ActionContext) -> ActionResult:
    await run_in_threadpool(service.escalate, ctx.services.store, ctx.conversation_id, "urgent", "crisis")
    return ActionResult().say("crisis")


async def choose_language(ctx: ActionContext) -> ActionResult:
    code = requested_language(ctx.text)
    if code is None or code not in SUPPORTED_LANGUAGES:
        return ActionResult().say("language_menu")
    await run_in_threadpool(service.set_language, ctx.services.store, ctx.conversation_id, code)
    # Rendered by the app in the conversation's (new) language.
    return ActionResult().say("language_changed")


async def delete_data(ctx: ActionContext) -> ActionResult:
    # The app erases its store and the engine's tracker after the turn (see bot.turns), so the
    # confirmation itself is not kept either.
    result = ActionResult()
    result.responses.append({"custom": {"key": "delete_data_done", "args": {}, "effects": ["erase_conversation"]}})
    return result
