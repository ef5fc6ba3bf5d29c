"""The Mesa model: scenario schema, profile generator, the hourly step, data collection and output writers."""
