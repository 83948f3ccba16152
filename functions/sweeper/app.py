"""EventBridge Scheduler (every few minutes) -> fail stalled jobs and release their locks."""

from apihub.jobs.sweeper import sweep_stalled
from apihub.observability import JOBS_SWEPT, count, logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    swept = sweep_stalled()
    count(JOBS_SWEPT, len(swept))  # zeros too: the alarm sees a steady series
    return {"swept": [s.job_id for s in swept]}
