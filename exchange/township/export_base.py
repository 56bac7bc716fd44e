"""An export being written, whatever it is made of: finished by ``close``, or left as it is by ``abort``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class OpenExport(ABC):
    """Files being written; as a context manager, closed on success and aborted on an exception."""

    @abstractmethod
    def close(self) -> None:
        """Finish the files, so that a reader finds them complete."""

    @abstractmethod
    def abort(self) -> None:
        """Stop after a failure; partial files are left for inspection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
