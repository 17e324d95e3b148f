"""Parse many messages with a trained model, inside Rasa's environment, without starting a server.

Used by evaluation and calibration (the app calls it as a subprocess; it never imports Rasa).
Input: a JSON file [{"text": ..., "language": ...}, ...]; output: a JSON file with, for each input,
{"intent": name, "confidence": c, "ranking": [[name, c], ...]} as DIET ranked them (before any
fallback when the pipeline's fallback thresholds are 0, as in calibration models).
Usage: python -m nlu.rasa_components.batch_parse MODEL INPUT.json OUTPUT.json
"""

import asyncio
import json
import sys

from nlu.rasa_components.launcher import quiet


async def parse_all(model_path: str, items: list[dict]) -> list[dict]:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    agent = Agent.load(model_path)
    results = []
    for item in items:
        message = UserMessage(item["text"], metadata={"language": item.get("language")})
        parsed = await agent.processor.parse_message(message)
        ranking = [[r["name"], round(float(r["confidence"]), 6)] for r in parsed.get("intent_ranking", [])]
        intent = parsed.get("intent") or {}
        results.append({"intent": intent.get("name"), "confidence": float(intent.get("confidence") or 0.0),
                        "ranking": ranking})
    return results


def main() -> None:
    quiet()
    import logging

    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)
    try:  # Rasa >= 3.6 logs parses through structlog at debug level unless told otherwise.
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
    except ImportError:
        pass
    model_path, input_path, output_path = sys.argv[1:4]
    with open(input_path, encoding="utf-8") as f:
        items = json.load(f)
    results = asyncio.run(parse_all(model_path, items))
    with open(output_path, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
