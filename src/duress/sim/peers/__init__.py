"""Test peers that speak the hospital protocols, runnable in-process on 127.0.0.1 (random port):
a WCTP gateway (:class:`WctpGatewayPeer`) and an IHE PCD Alert Manager over MLLP
(:class:`AlertManagerPeer`). Tests and the demo use them to show delivery and acceptance end to end.
"""

from duress.sim.peers.alert_manager import AlertManagerPeer
from duress.sim.peers.wctp_gateway import WctpGatewayPeer

__all__ = ["AlertManagerPeer", "WctpGatewayPeer"]
