"""SQS WebhookQueue -> one signed POST per message to its subscription's URL; retries scheduled, the last to the DLQ."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.changes import webhooks
    from apihub.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return webhooks.handle_batch(event, context)
