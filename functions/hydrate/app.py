"""SQS HydrateQueue -> hydrate each ref, record outcomes once per batch, finalise when complete."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.observability import logger, metrics
    from apihub.pipeline import hydrate


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return hydrate.handle_batch(event["Records"], context)
