"""EventBridge Scheduler -> start the scheduled imports of one mode ({"mode": "delta"} etc.)."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.jobs.schedules import run_scheduled_imports
    from apihub.models import DiscoveryMode
    from apihub.observability import SCHEDULED_IMPORTS, count, logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    mode = DiscoveryMode(event["mode"])  # a schedule with a bad input fails loudly
    run = run_scheduled_imports(mode)
    count(SCHEDULED_IMPORTS, len(run.started), mode=mode.value)
    logger.info("scheduled imports", extra=run.summary())
    return run.summary()
