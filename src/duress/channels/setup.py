"""The ``channels:`` section of the site: read every channel's settings (all problems at once), build
the notifiers, the delivery policy, and the HTTP routes that receive status reports and replies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from duress.channels.cap import CapNotifier, CapSettings
from duress.channels.dashboard import DashboardNotifier
from duress.channels.email import EmailNotifier, EmailSettings
from duress.channels.hl7_acm import Hl7AcmNotifier, Hl7AcmSettings
from duress.channels.hl7_source import Hl7AlertListener
from duress.channels.hl7_source_mapping import Hl7SourceSettings, PressCallback, press_callback
from duress.channels.sms import SmsNotifier, SmsSettings, sms_router
from duress.channels.text import TextSettings
from duress.channels.wctp import WctpNotifier, WctpSettings, wctp_router
from duress.channels.webhook import WebhookNotifier, WebhookSettings
from duress.domain.errors import ConfigError
from duress.domain.facility import Area
from duress.domain.notification import Notifier, UpdateCallback
from duress.service.clock import Clock
from duress.service.delivery import BreakerPolicy, ChannelPolicy, DeliveryPolicy, RetryPolicy

CHANNEL_KEYS = (
    "text",
    "delivery",
    "wctp",
    "hl7_acm",
    "hl7_source",
    "email",
    "sms",
    "webhooks",
    "cap",
)


@dataclass(frozen=True, slots=True)
class ChannelsConfig:
    text: TextSettings = field(default_factory=TextSettings)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    wctp: WctpSettings | None = None
    hl7_acm: Hl7AcmSettings | None = None
    hl7_source: Hl7SourceSettings | None = None
    """Not a notifier: an MLLP listener taking alerts from other systems (see build_alert_source)."""
    email: EmailSettings | None = None
    sms: SmsSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()
    cap: CapSettings | None = None

    @property
    def channel_names(self) -> set[str]:
        names = {"dashboard"}
        for name in ("wctp", "hl7_acm", "email", "sms", "cap"):
            if getattr(self, name) is not None:
                names.add(name)
        names |= {f"webhook:{w.name}" for w in self.webhooks}
        return names


def read_channels(data: Mapping[str, Any] | None) -> ChannelsConfig:
    """Every channel's settings; raises ConfigError listing every problem (``channels.<key>: ...``)."""
    data = dict(data or {})
    problems: list[str] = []
    unknown = [k for k in data if k not in CHANNEL_KEYS]
    problems += [
        f"channels.{k}: unknown channel; the channels are {', '.join(CHANNEL_KEYS)}"
        for k in unknown
    ]
    values: dict[str, Any] = {}

    def read(key: str, reader: Any) -> None:
        if key not in data:
            return
        try:
            values[key] = reader(data[key])
        except ConfigError as error:
            problems.extend(error.problems)

    read("text", TextSettings.from_mapping)
    read("delivery", delivery_policy)
    read("wctp", WctpSettings.from_mapping)
    read("hl7_acm", Hl7AcmSettings.from_mapping)
    read("hl7_source", Hl7SourceSettings.from_mapping)
    read("email", EmailSettings.from_mapping)
    read("sms", SmsSettings.from_mapping)
    read("webhooks", lambda v: tuple(WebhookSettings.list_from(v)))
    read("cap", CapSettings.from_mapping)
    if problems:
        raise ConfigError(problems)
    return ChannelsConfig(**values)


def delivery_policy(data: Mapping[str, Any] | None) -> DeliveryPolicy:
    """``channels.delivery``: ``retry``, ``breaker``, ``default`` and ``per_channel`` policies."""
    data = dict(data or {})
    problems: list[str] = []
    where = "channels.delivery"

    def section(cls: type[Any], raw: Any, path: str) -> Any:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            problems.append(f"{path}: {raw!r} is not a mapping; write `key: value` settings")
            return cls()
        fields = cls.__dataclass_fields__
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in fields:
                problems.append(f"{path}.{key}: unknown key; the keys are {', '.join(fields)}")
            elif value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                problems.append(f"{path}.{key}: {value!r} must be a number of at least 0")
            elif key in ("attempts", "failures") and value is not None:
                out[key] = int(float(value))
            else:
                out[key] = value
        return cls(**out)

    retry = section(RetryPolicy, data.pop("retry", None), f"{where}.retry")
    breaker = section(BreakerPolicy, data.pop("breaker", None), f"{where}.breaker")
    default = section(ChannelPolicy, data.pop("default", None), f"{where}.default")
    per: dict[str, ChannelPolicy] = {}
    raw_per = data.pop("per_channel", None) or {}
    if not isinstance(raw_per, Mapping):
        problems.append(f"{where}.per_channel: not a mapping; write `channel: {{timeout_s: 2}}`")
        raw_per = {}
    for channel, raw in raw_per.items():
        per[str(channel)] = section(ChannelPolicy, raw, f"{where}.per_channel.{channel}")
    problems += [
        f"{where}.{k}: unknown key; the keys are retry, breaker, default, per_channel" for k in data
    ]
    if problems:
        raise ConfigError(problems)
    return DeliveryPolicy(retry=retry, breaker=breaker, default=default, channels=per)


def build_notifiers(config: ChannelsConfig, *, clock: Clock) -> list[Notifier]:
    """One notifier per configured channel, plus the board (always there)."""
    text = config.text
    notifiers: list[Notifier] = [DashboardNotifier()]
    if config.wctp is not None:
        notifiers.append(WctpNotifier(config.wctp, clock=clock, text=text))
    if config.hl7_acm is not None:
        notifiers.append(Hl7AcmNotifier(config.hl7_acm, clock=clock, text=text))
    if config.email is not None:
        notifiers.append(EmailNotifier(config.email, clock=clock, text=text))
    if config.sms is not None:
        notifiers.append(SmsNotifier(config.sms, text=text))
    notifiers += [WebhookNotifier(w, clock=clock, text=text) for w in config.webhooks]
    if config.cap is not None:
        notifiers.append(CapNotifier(config.cap, clock=clock, text=text))
    return notifiers


def inbound_routers(
    notifiers: Iterable[Notifier], inbound: UpdateCallback, *, clock: Clock
) -> list[APIRouter]:
    """The routes far ends post status and replies to, for the channels in use."""
    routers = []
    for notifier in notifiers:
        if isinstance(notifier, WctpNotifier):
            routers.append(wctp_router(inbound, clock=clock, lookup=notifier.lookup))
        elif isinstance(notifier, SmsNotifier):
            routers.append(sms_router(inbound, clock=clock))
        elif isinstance(notifier, Hl7AcmNotifier):
            notifier.on_update = inbound
    return routers


def build_alert_source(
    config: ChannelsConfig,
    on_press: PressCallback,
    *,
    clock: Clock,
    on_update: UpdateCallback | None = None,
    areas: Mapping[str, Area] | None = None,
) -> Hl7AlertListener | None:
    """The MLLP listener for ``channels.hl7_source`` (None when not configured); ``await start()``
    it with the runtime and ``await stop()`` it on shutdown. Each alert it takes is mapped
    (:func:`~duress.channels.hl7_source_mapping.external_alert_to_press`) and handed to
    ``on_press``; PCD-05 dispatch reports arriving on it go to ``on_update`` (``Delivery.inbound``).
    """
    settings = config.hl7_source
    if settings is None:
        return None
    return Hl7AlertListener(
        press_callback(settings, on_press, clock=clock, areas=areas),
        host=settings.host,
        port=settings.port,
        on_update=on_update,
        clock=clock,
        application=settings.application,
    )
