"""Adapters for trainers and runtimes: TRL, verl, OpenRLHF and Ray.

Each adapter lives in its own module and imports its framework only when used.
"""
