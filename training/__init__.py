"""Training scripts for the shipped weights; run each as a module from the repository root (python -m training.NAME)."""
