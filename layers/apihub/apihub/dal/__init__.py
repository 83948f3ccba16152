"""Data access: the only package that talks to DynamoDB, SQS and KMS."""
