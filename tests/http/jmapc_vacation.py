"""VacationResponse/get and /set method classes for the jmapc client (jmapc 0.4 has none),
written the way jmapc writes its own (Mailbox/get, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from dataclasses_json import config
from jmapc.methods.base import Get, GetResponse, Set, SetResponse

VACATION = "urn:ietf:params:jmap:vacationresponse"
EXTRA = "urn:autoresponder:jmap:vacation"


class VacationResponseBase:
    method_namespace: ClassVar[str | None] = "VacationResponse"
    using: ClassVar[set[str]] = {VACATION}


@dataclass
class VacationResponseGet(VacationResponseBase, Get):
    ids: Any = None


@dataclass
class VacationResponseGetResponse(VacationResponseBase, GetResponse):
    data: list[dict] = field(default_factory=list, metadata=config(field_name="list"))


@dataclass
class VacationResponseSet(VacationResponseBase, Set):
    pass


@dataclass
class VacationResponseSetResponse(VacationResponseBase, SetResponse):
    pass


class WithExtras:
    """Mixed in front of a method class: its request also uses the project's capability."""

    using: ClassVar[set[str]] = {VACATION, EXTRA}


@dataclass
class VacationResponseGetExtra(WithExtras, VacationResponseGet):
    pass


@dataclass
class VacationResponseSetExtra(WithExtras, VacationResponseSet):
    pass
