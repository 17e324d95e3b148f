"""POST /api/webchat/messages — one web chat turn."""

from fastapi import APIRouter, HTTPException, Request, status

from bot.turns.pipeline import handle_turn
from connectors.webchat.schemas import BotMessageOut, WebchatMessageIn, WebchatReply

router = APIRouter(tags=["web chat"])


@router.post("/api/webchat/messages", response_model=WebchatReply)
async def post_message(body: WebchatMessageIn, request: Request) -> WebchatReply:
    services = request.app.state.services
    limit = services.settings.max_text_chars
    if len(body.text) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"text is {len(body.text)} characters; the limit is {limit}")
    turn = await handle_turn(services, "webchat", body.conversation_id, body.text, body.language)
    return WebchatReply(
        conversation_id=body.conversation_id,
        language=turn.language,
        escalated=turn.escalated,
        messages=[BotMessageOut(text=m.text, offers=m.offers, quick_replies=m.quick_replies) for m in turn.messages],
    )
