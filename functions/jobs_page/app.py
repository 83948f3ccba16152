"""GET / (the jobs page: static HTML whose script calls the API with the auth_token cookie)"""

from apihub.api.catalog import app_for
from aws_lambda_powertools import Logger

logger = Logger(service="apihub")
app = app_for("jobs_page")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event, context):
    return app.resolve(event, context)
