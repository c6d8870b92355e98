"""Everything that makes the pipeline run on one machine without the Functions host."""
