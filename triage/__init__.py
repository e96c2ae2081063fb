"""triage: self-hosted, ML-powered help-desk ticket triage.

Importing the package is cheap; the heavy parts live in submodules (``triage.data``, ``triage.models``,
``triage.decision``, ``triage.api``) and are loaded when used.
"""

__version__ = "0.1.0"
