"""`stackgen forecast`: predict, before any change set runs, what AWS would refuse or hang on.

Checks are small classes, one per file under ``checks/`` (stable ids F1xx-F6xx,
like the lint rules): offline ones read the validated config and the rendered
templates; account ones make read-only API calls through ``account.Account``,
each call at most once per run. ``runner.forecast`` runs them, ``report``
formats the findings.
"""
