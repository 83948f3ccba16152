"""HttpApi Lambda authorizer: auth_token cookie or Bearer token -> role (simple responses)."""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.auth import authorizer_response
    from apihub.observability import logger
    from aws_lambda_powertools.logging import correlation_paths


# The authorizer event carries the request's requestContext: its lines share the route function's correlation id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event, context):
    response = authorizer_response(event)
    # A denial is worth a line; an allowed request is already the route's own line (DEBUG here).
    log = logger.info if not response["isAuthorized"] else logger.debug
    log(
        "authorized",
        extra={
            "route": event.get("routeKey"),
            "allowed": response["isAuthorized"],
            "auth": response["context"].get("auth"),
        },
    )
    return response
