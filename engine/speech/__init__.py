"""Speech out: sentence chunking, spoken-form text, and the voices that say it."""
