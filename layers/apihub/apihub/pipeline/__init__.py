"""The import pipeline: discover (list and fan out), hydrate (fetch and record), finalise."""
