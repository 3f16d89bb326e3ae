"""svae-natgrad (being built)."""
