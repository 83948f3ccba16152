"""POST /api/markup-rules"""

from apihub.startup import cold_start

# The init phase with the garbage collector paused (apihub.startup).
with cold_start():
    from apihub.api.app import app_for
    from apihub.observability import logger
    from aws_lambda_powertools.logging import correlation_paths

    app = app_for("create_markup_rule")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event, context):
    return app.resolve(event, context)
