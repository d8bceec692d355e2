"""Suite-wide guards."""
import ipaddress
import socket

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
  """No test touches the network: connections to anything but loopback fail at once."""
  real_connect = socket.socket.connect

  def guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
      try:
        loopback = ipaddress.ip_address(host).is_loopback
      except ValueError:
        loopback = host == "localhost"
      if not loopback:
        raise OSError(f"tests may not reach the network (tried {host})")
    return real_connect(self, address)

  monkeypatch.setattr(socket.socket, "connect", guarded_connect)
  monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo(socket.getaddrinfo))


def _loopback_only_getaddrinfo(real):
  def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1") and not str(host).startswith("127."):
      raise socket.gaierror(f"tests may not resolve {host}")
    return real(host, *args, **kwargs)

  return getaddrinfo
