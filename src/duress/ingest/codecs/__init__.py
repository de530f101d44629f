"""Pure decoders, one module per wire format: bytes (and an MQTT topic) in, typed records out.

``native`` (the server's own JSON), ``espresense``, ``openmqttgateway``, ``mqtt_room``, ``omlox``;
``fields`` holds the shared field readers and ``mapping`` the id lookups of the ``to_sighting``
steps. No module here does I/O or reads the clock; every failure is an ``InvalidMessage``.
See ``docs/formats.md``.
"""
