"""stackgen's policy rules for cfn-lint: one rule class per file, stable ids E91xx.

cfn-lint loads every public module of this folder as a rule plugin; shared
helpers live in ``_common.py`` (a leading underscore keeps cfn-lint out).
"""
