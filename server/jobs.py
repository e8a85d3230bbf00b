"""Background jobs of the server (an index rebuild, an evaluation run): one thread each, whose
outcome is always left in the job's record for the page to poll."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rag.errors import RagError

log = logging.getLogger(__name__)


def run_job(job: Any, work: Callable[[], None], what: str, release: Callable[[], None]) -> None:
    """Run ``work`` for ``job`` (a record with ``state``, ``error`` and ``finished_at``): done,
    or failed with the error in Chinese (``what`` names the task: 重建索引, 评测); then
    ``release`` whatever the outcome."""
    try:
        work()
        job.state = "done"
    except RagError as e:
        log.warning("%s failed: %s", what, e.message)
        job.error, job.state = {"code": e.code, "message": e.message}, "failed"
    except Exception as e:  # the thread must always leave a final state behind
        log.exception("%s crashed", what)
        job.error = {"code": "internal_error", "message": f"{what}时出错：{type(e).__name__}"}
        job.state = "failed"
    finally:
        job.finished_at = time.time()
        release()
