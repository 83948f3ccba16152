"""DynamoDB stream of ChangesTable -> every change event on the EventBridge bus, and one webhook
delivery message per matching subscription on WebhookQueue."""

from apihub.changes import dispatch
from apihub.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return dispatch.handle_stream_batch(event["Records"])
