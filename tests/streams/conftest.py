"""The handler fixture kit's fixtures (store_root, manual, prepare), for every test under tests/streams."""
from .handlers.kit import manual, prepare, store_root  # noqa: F401
