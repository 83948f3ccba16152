"""SQS DiscoveryQueue -> run (or continue) a job's discovery and fan-out."""

from apihub.pipeline import discover
from apihub.pipeline.messages import DiscoveryMessage
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger(service="apihub")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context) -> None:
    message = DiscoveryMessage.model_validate_json(record.body)  # a bad body is retried, then dead-lettered
    logger.append_keys(job_id=message.job_id)
    try:
        result = discover.run(
            message.job_id,
            lambda_context.get_remaining_time_in_millis,
            int(record.attributes.approximate_receive_count),
        )
    except Exception:
        logger.exception("discovery step failed; the message will be retried")
        raise
    logger.info("discovery step finished", extra={"result": result.value})


@logger.inject_lambda_context
def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
