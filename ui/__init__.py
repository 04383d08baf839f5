"""The Gradio layer: widgets generated from the core's parameter schemas, and event handlers.

Nothing here computes: every number comes from :mod:`arena`.
"""
