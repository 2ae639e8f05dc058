"""Jobs: end-to-end runs that drive the stages in order (the only code importing them all)."""
