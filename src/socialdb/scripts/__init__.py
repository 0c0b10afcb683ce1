"""Migration files and their history, below the runner (socialdb.migrate) and the lock planner
(socialdb.planner): a file read into a Migration (files.py, statements.py, durations.py,
foreign.py), a run's options (options.py), the history table (history.py) and the files compared
with it (standing.py). Imports only the ground (errors, db); pyproject's import contracts hold it.
"""
