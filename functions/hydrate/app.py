"""SQS HydrateQueue -> hydrate each ref, record outcomes once per batch, finalise when complete."""

import time

from apihub.observability import HYDRATE_LATENCY, bind_job, duration_ms, logger, metrics, unbind_job
from apihub.pipeline.hydrate import HydrateBatch, PoisonedMessage, RetryLater, delay_redelivery
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    batch = HydrateBatch(context.get_remaining_time_in_millis)
    # Messages closest to their last receive go first, so running low on time never costs them.
    records = sorted(event["Records"], key=lambda r: -int(r["attributes"].get("ApproximateReceiveCount", 1)))
    batch.prefetch([r["body"] for r in records])  # reads each job of the batch once
    delays: dict[str, int] = {}

    def record_handler(record: SQSRecord) -> None:
        _bind(batch, record.body)
        try:
            batch.handle(record.body, int(record.attributes.approximate_receive_count), record.message_id)
        except RetryLater as exc:
            delays[record.receipt_handle] = exc.delay
            raise
        except Exception:
            logger.exception("hydrate record failed", extra={"message_id": record.message_id})
            raise

    try:
        started = time.monotonic()
        try:
            with processor(records=records, handler=record_handler, lambda_context=context):
                processor.process()
        finally:
            batch.close()  # release the supplier slots before the (DynamoDB-only) commit
        if batch.hydrated:  # mean supplier round trip per product, once per batch
            duration_ms(HYDRATE_LATENCY, (time.monotonic() - started) * 1000 / batch.hydrated)
        batch.commit()  # raises -> the whole batch is redelivered; outcomes are idempotent
    finally:
        unbind_job()
    for receipt_handle, seconds in delays.items():
        try:
            delay_redelivery(receipt_handle, seconds)
        except Exception:  # backoff is best effort; the visibility timeout still applies
            logger.warning("could not delay redelivery", exc_info=True)
    return processor.response()


def _bind(batch: HydrateBatch, body: str) -> None:
    """This record's job and supplier on every log line (the batch already read the job)."""
    try:
        job_id = batch.parse(body).job_id
    except PoisonedMessage:
        unbind_job()
        return
    state = batch.states.get(job_id)
    bind_job(job_id, state.item.supplier_id if state and state.item else None)
