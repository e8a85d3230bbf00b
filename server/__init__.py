"""The HTTP service: FastAPI app over ``rag.pipeline.Pipeline`` (run it with ``rag serve``)."""
