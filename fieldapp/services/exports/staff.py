"""How an export names the program's staff: by name, as the team directory knows them.

A printout is read by people, so it says "Avery Lindgren", not "Avery Lindgren
(demo-supervisor)"; the user id is added only when two people on the list share a name, and a
person the directory does not know stays as their id. A CSV is read by machines too, so it keeps
the id in its own column and puts the name beside it (`tables.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from fieldapp.domain.people import UserId
from fieldapp.services.directory import Directory


@dataclass(frozen=True, kw_only=True)
class StaffNames:
    """Attributes:
    names: name by user id, as the directory has them.
    shared: the names (casefolded) more than one user id goes by.
    """

    names: Mapping[UserId, str]
    shared: frozenset[str]

    @classmethod
    def of(cls, directory: Directory) -> StaffNames:
        counts = Counter(" ".join(n.casefold().split()) for n in directory.names.values())
        return cls(names=dict(directory.names),
                   shared=frozenset(n for n, count in counts.items() if count > 1))

    def name(self, user_id: str | None) -> str:
        """For people to read: the name; 'Name (id)' when another person has that name too;
        the id when the name is not known; '' for nobody."""
        if not user_id:
            return ""
        name = self.names.get(UserId(user_id))
        if not name:
            return user_id
        shared = " ".join(name.casefold().split()) in self.shared
        return f"{name} ({user_id})" if shared else name

    def plain(self, user_id: str | None) -> str:
        """A CSV's name column, beside the id: the name, or the id when it is not known."""
        if not user_id:
            return ""
        return self.names.get(UserId(user_id)) or user_id
