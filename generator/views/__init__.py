"""One frozen view per stack: what its template places, decided in Python.

``facts.Facts`` holds what the env is (computed once from the config); each
``<stack>.py`` builds its stack's view, parameters and outputs from it. Templates
read ``view.*``, ``params`` and ``outputs`` and decide nothing.
"""
