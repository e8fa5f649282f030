"""The agents' exceptions, defined with every other project exception in :mod:`rmrl_env.errors`.

Both subclass ``ValueError`` as well, so ``except ValueError`` still works.
"""

from rmrl_env.errors import DatasetError, IncompatibleEnvError

__all__ = ["DatasetError", "IncompatibleEnvError"]
