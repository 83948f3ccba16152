"""EventBridge Scheduler (every few minutes) -> fail stalled jobs and release their locks; resume
discontinuation passes left pending."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.jobs.sweeper import sweep_stalled
    from apihub.observability import JOBS_SWEPT, count, logger
    from apihub.pipeline import discontinuation


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    swept = sweep_stalled()
    count(JOBS_SWEPT, len(swept))  # zeros too: the alarm sees a steady series
    resumed = discontinuation.resend_pending()  # discontinuation passes whose message was lost
    return {"swept": [s.job_id for s in swept], "discontinuations": resumed}
