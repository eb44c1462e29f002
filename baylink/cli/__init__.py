"""The ``baylink`` command for operators and developers."""
