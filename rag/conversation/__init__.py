"""Conversation turns, and the offline rewrite of a follow-up into a standalone question."""

from rag.conversation.condense import Rewrite, condense_offline, question_parts, rewrite_follow_up
from rag.conversation.turns import Turn, format_history

__all__ = ["Rewrite", "Turn", "condense_offline", "format_history", "question_parts", "rewrite_follow_up"]
