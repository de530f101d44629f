"""Notification channels: each turns a :class:`~duress.domain.notification.Notice` into a message on the
wire and reports back (``send(notice) -> Receipt``; far-end reports as ``DeliveryUpdate``).

- :mod:`~duress.channels.text`: message text for every channel (limits, names, drill prefix).
- :mod:`~duress.channels.wctp`: WCTP 1.3 client and inbound endpoint (Spok, Vocera, Ascom, pagers);
  :mod:`~duress.channels.wctp_ihe`: its IHE PCD-06 extension (alert participants, room, bed, responder).
- :mod:`~duress.channels.hl7_acm`: IHE PCD ACM Alert Reporter (ORU^R40 over MLLP, ORA^R41 back);
  :mod:`~duress.channels.hl7_acm_messages`: those messages, built and parsed without I/O.
- :mod:`~duress.channels.hl7_source`: MLLP listener taking ORU^R40 from other systems as alerts;
  :mod:`~duress.channels.hl7_source_mapping`: what the alert desk raises from them (site mapping table).
- :mod:`~duress.channels.mllp`: MLLP framing over asyncio streams.
- :mod:`~duress.channels.email`, :mod:`~duress.channels.sms`, :mod:`~duress.channels.webhook`,
  :mod:`~duress.channels.cap`.
- :mod:`~duress.channels.http_client`: outbound HTTP for WCTP, SMS, webhooks and CAP (one keep-alive
  connection pool on aiohttp; answers read whole; timeouts and unreachable ends as two exceptions).

Retries, timeouts, failover and circuit breakers are not here: see ``duress.service.delivery``.
"""
