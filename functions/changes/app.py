"""DynamoDB streams of ProductsTable (InventoryTable, PricingTable) -> change events, logged once each in ChangesTable."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.changes import stream
    from apihub.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return stream.handle_batch(event["Records"])
