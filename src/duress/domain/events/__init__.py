"""Domain events: every fact the system learns or decides, in the past tense.

Each event names its ``subject`` (the alert, badge or device it is about) and turns into a
:class:`NewEvent` record for the event store; :func:`decode` turns a stored record back into the typed
event. Current state (open alerts, badge locations, device health) is a projection of these.

Adding an event: in the module of its area (``ingest``, ``alerts``, ``supervision``, ``access``),
subclass :class:`Event` as a frozen keyword-only dataclass, set ``type`` and ``subject_kind``, name
the field that holds the subject's id in ``subject_field``, and export it here. Payload fields
must be JSON-representable (str, int, float, bool, None, lists, dicts, datetimes as RFC 3339 strings).
"""

from duress.domain.events.access import (
    AccessDenied,
    AccountCreated,
    AccountDisabled,
    LocationViewed,
    PasswordChanged,
    SignedIn,
    SignedOut,
    SignInFailed,
    TokenIssued,
    TokenRevoked,
)
from duress.domain.events.alerts import (
    AlertAccepted,
    AlertAcknowledged,
    AlertCancelled,
    AlertDeclined,
    AlertJoined,
    AlertNotified,
    AlertOnScene,
    AlertRaised,
    AlertRelocated,
    AlertResolved,
    AlertUndelivered,
    AlertWatchdogFired,
    BadgeSignalled,
    NoticeStatusChanged,
    PressUnmatched,
)
from duress.domain.events.base import (
    Event,
    NewEvent,
    StoredEvent,
    Subject,
    SubjectKind,
    decode,
    event_types,
)
from duress.domain.events.ingest import (
    BadgeMoved,
    ButtonPressed,
    DeviceCameOnline,
    DeviceWentSilent,
)
from duress.domain.events.supervision import (
    BadgeBatteryChanged,
    BadgeNotSeen,
    ButtonStuck,
    DeviceBatteryChanged,
    GatewayCameOnline,
    GatewayWentOffline,
    SyntheticFailed,
    SyntheticPassed,
)

__all__ = [
    "AccessDenied",
    "AccountCreated",
    "AccountDisabled",
    "AlertAccepted",
    "AlertAcknowledged",
    "AlertCancelled",
    "AlertDeclined",
    "AlertJoined",
    "AlertNotified",
    "AlertOnScene",
    "AlertRaised",
    "AlertRelocated",
    "AlertResolved",
    "AlertUndelivered",
    "AlertWatchdogFired",
    "BadgeBatteryChanged",
    "BadgeMoved",
    "BadgeNotSeen",
    "BadgeSignalled",
    "ButtonPressed",
    "ButtonStuck",
    "DeviceBatteryChanged",
    "DeviceCameOnline",
    "DeviceWentSilent",
    "Event",
    "GatewayCameOnline",
    "GatewayWentOffline",
    "LocationViewed",
    "NewEvent",
    "NoticeStatusChanged",
    "PasswordChanged",
    "PressUnmatched",
    "SignInFailed",
    "SignedIn",
    "SignedOut",
    "StoredEvent",
    "Subject",
    "SubjectKind",
    "SyntheticFailed",
    "SyntheticPassed",
    "TokenIssued",
    "TokenRevoked",
    "decode",
    "event_types",
]
