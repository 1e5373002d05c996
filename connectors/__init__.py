"""crmhub's connectors: the framework in ``connectors.base``, one package per platform.

Connectors are found through the ``crmhub.connectors`` entry-point group, so
third-party packages plug in the same way as the ones shipped here.
"""

# The framework's public names, re-exported.
from connectors.base import *  # noqa: F403 - re-exported as listed in __all__
from connectors.base import __all__ as __all__
