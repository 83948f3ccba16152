"""GET /api/sync-jobs/health"""

from apihub.api.catalog import app_for
from aws_lambda_powertools import Logger

logger = Logger(service="apihub")
app = app_for("sync_jobs_health")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event, context):
    return app.resolve(event, context)
