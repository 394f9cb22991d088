"""Time: the one clock, the official working-day calendar and statutory deadlines."""
