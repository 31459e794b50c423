"""What every actor stands on: the actor base, the latest-only slot, the periodic timer, tracing,
metrics and their names, and the process settings (GIL switch interval, affinity, GC freeze).

Floor 1: it imports nothing of the project but ``messages``.
"""
