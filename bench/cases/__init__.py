"""One module per comparison; each ``run(ctx)`` returns its :class:`bench.report.Metric` list."""
