"""SQS DiscoveryQueue -> run (or continue) a job's discovery and fan-out, or its discontinuation pass."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    import time

    from apihub.batch import BatchProcessor, EventType, SQSRecord, process_partial_response
    from apihub.dal.jobs import JobsRepository
    from apihub.observability import DISCOVERY_DURATION, bind_job, duration_ms, logger, metrics, unbind_job
    from apihub.pipeline import discontinuation, discover
    from apihub.pipeline.messages import DiscoveryMessage

    processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context) -> None:
    message = DiscoveryMessage.model_validate_json(record.body)  # a bad body is retried, then dead-lettered
    job = JobsRepository().find_item(message.job_id)
    bind_job(message.job_id, job.supplier_id if job else None)  # on every line of this step
    if message.task == "discontinue":
        result = discontinuation.run(message.job_id, lambda_context.get_remaining_time_in_millis)
        logger.info("discontinuation step finished", extra={"result": result})
        return
    started = time.monotonic()
    try:
        result = discover.run(
            message.job_id,
            lambda_context.get_remaining_time_in_millis,
            int(record.attributes.approximate_receive_count),
        )
    except Exception:
        logger.exception("discovery step failed; the message will be retried")
        raise
    finally:
        duration_ms(DISCOVERY_DURATION, (time.monotonic() - started) * 1000)
    logger.info("discovery step finished", extra={"result": result.value})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        unbind_job()
