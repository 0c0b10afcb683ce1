"""The migration runner: `runner.up`, `down`, `status`, `resolve` and `verify` (runner.py is its
public face), the lease that keeps one run at a time (lease.py), and Squawk's lint over the files
(lint.py). The project's migrations are package data here (migrations/). It stands on the
migration files (socialdb.scripts) and never imports the lock planner (socialdb.planner).
"""
