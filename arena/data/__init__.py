"""Image classes made by code (training data for the learned priors)."""
