"""Background work: timers, 预警/逾期 escalations, the loops' jobs."""
