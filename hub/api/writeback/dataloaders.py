"""Write-backs by id, one statement per request."""

from __future__ import annotations

from hub.api.core.dataloaders import ByIdLoader
from hub.models import WriteBack

write_backs = WriteBack.__table__


class WriteBackByIdLoader(ByIdLoader):
    table = write_backs
