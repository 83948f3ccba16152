"""SQS HydrateQueue -> hydrate each ref, record outcomes once per batch, finalise when complete."""

from apihub.pipeline.hydrate import HydrateBatch, RetryLater, delay_redelivery
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger(service="apihub")


@logger.inject_lambda_context
def handler(event, context):
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    batch = HydrateBatch(context.get_remaining_time_in_millis)
    # Messages closest to their last receive go first, so running low on time never costs them.
    records = sorted(event["Records"], key=lambda r: -int(r["attributes"].get("ApproximateReceiveCount", 1)))
    batch.prefetch([r["body"] for r in records])
    delays: dict[str, int] = {}

    def record_handler(record: SQSRecord) -> None:
        try:
            batch.handle(record.body, int(record.attributes.approximate_receive_count))
        except RetryLater as exc:
            delays[record.receipt_handle] = exc.delay
            raise
        except Exception:
            logger.exception("hydrate record failed", extra={"message_id": record.message_id})
            raise

    with processor(records=records, handler=record_handler, lambda_context=context):
        processor.process()
    batch.commit()  # raises -> the whole batch is redelivered; outcomes are idempotent
    for receipt_handle, seconds in delays.items():
        try:
            delay_redelivery(receipt_handle, seconds)
        except Exception:  # backoff is best effort; the visibility timeout still applies
            logger.warning("could not delay redelivery", exc_info=True)
    return processor.response()
