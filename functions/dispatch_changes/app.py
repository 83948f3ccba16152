"""DynamoDB stream of ChangesTable -> every change event on the EventBridge bus, and one webhook
delivery message per matching subscription on WebhookQueue."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.changes import dispatch
    from apihub.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return dispatch.handle_stream_batch(event["Records"])
