"""Rendering of message keys into the citizen's language with Babel/gettext."""

from bot.i18n.render import Renderer

__all__ = ["Renderer"]
