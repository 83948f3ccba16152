"""HttpApi Lambda authorizer: auth_token cookie or Bearer token -> role (simple responses)."""

from apihub.auth import authorizer_response
from aws_lambda_powertools import Logger

logger = Logger(service="apihub")


@logger.inject_lambda_context
def handler(event, context):
    response = authorizer_response(event)
    logger.info(
        "authorized",
        extra={
            "route": event.get("routeKey"),
            "allowed": response["isAuthorized"],
            "auth": response["context"].get("auth"),
        },
    )
    return response
