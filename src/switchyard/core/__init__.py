"""Pure domain: states, ids, time, durations, retry policy and the run model.

Nothing here does I/O or imports another switchyard layer.
"""
