"""One router per file: health, search, ask, documents, openai."""
