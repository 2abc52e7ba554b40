"""alphaalgo: algorithm discovery for matrix multiplication."""
