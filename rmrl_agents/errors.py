"""Exceptions of rmrl_agents. Both subclass ValueError, so ``except ValueError`` still works."""


class IncompatibleEnvError(ValueError):
    """The env's spaces are not those the rmrl agents need (Dict image+pose, MultiDiscrete)."""


class DatasetError(ValueError):
    """An on-disk trial log or role-model dataset is corrupt, incomplete or incompatible."""
