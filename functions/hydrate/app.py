"""SQS HydrateQueue -> hydrate each ref, record outcomes once per batch, finalise when complete."""

from apihub.observability import logger, metrics
from apihub.pipeline import hydrate


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return hydrate.handle_batch(event["Records"], context)
