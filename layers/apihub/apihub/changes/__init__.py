"""The change feed (issue 15): what an import changed, as events pulled, put on EventBridge and
delivered to webhooks."""
