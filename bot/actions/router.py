"""The action-server endpoint Rasa calls (protected by a shared token)."""

import hmac
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot import SUPPORTED_LANGUAGES
from bot.actions import conversation, offers
from bot.actions.context import ActionContext
from bot.conversations import service
from bot.engine.actions import ActionCall, ActionRejected, ActionResult

log = logging.getLogger(__name__)

ACTIONS: dict[str, Callable[[ActionContext], Awaitable[ActionResult]]] = {
    "action_search_offers": offers.search_offers,
    "validate_search_form": offers.validate_search_form,
    "action_more_offers": offers.more_offers,
    "action_offer_details": offers.offer_details,
    "action_send_offer": offers.send_offer,
    "action_handoff": conversation.handoff,
    "action_crisis": conversation.crisis,
    "action_choose_language": conversation.choose_language,
    "action_delete_data": conversation.delete_data,
    "action_fallback": conversation.fallback,
    "action_thank": conversation.thank,
    "action_feedback": conversation.feedback,
}

router = APIRouter(include_in_schema=False)


@router.post("/rasa/actions")
async def run_action(call: ActionCall, request: Request, x_action_token: str | None = Header(default=None)):
    services = request.app.state.services
    expected = services.settings.action_token
    if not expected or not x_action_token or not hmac.compare_digest(x_action_token, expected):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid action token")
    try:
        action = ACTIONS.get(call.next_action)
        if action is None:
            raise ActionRejected(call.next_action, "unknown action")
        conv = await run_in_threadpool(service.by_engine_sender, services.store, call.sender_id)
        if conv is None:
            raise ActionRejected(call.next_action, "unknown conversation")
        language = call.tracker.latest_message.metadata.get("language") or conv.language
        if language not in SUPPORTED_LANGUAGES:
            language = conv.language
        result = await action(ActionContext(call, services, conv.id, language))
    except ActionRejected as rejected:
        log.warning("action %s rejected: %s", rejected.action_name, rejected.error)
        return JSONResponse({"action_name": rejected.action_name, "error": rejected.error}, status_code=400)
    return result.model_dump()
