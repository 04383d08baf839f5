"""Method plugins: one file per method, each registering itself with ``arena.method.METHODS``.

Add a method by dropping a new file here; :func:`arena.method.load_methods` finds it, and the
CLI, the app and the registry-wide tests pick it up without further edits.
"""
