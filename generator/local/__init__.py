"""The local AWS endpoint: moto's server on 127.0.0.1, with a small compatibility layer.

``manager`` starts and stops it and is safe to import anywhere; ``server`` and
``compat`` run only inside the endpoint's own process and import moto.
"""
