"""The OpenAI-compatible endpoint's API key, kept in the OS keyring (never in settings or logs).

`keyring` is optional: without it, or without a usable backend (a headless Linux box with no
Secret Service), `get_endpoint_key` returns None and `set_endpoint_key` raises SecretsError
with a sentence the UI can show. Keys are stored per endpoint URL under one service name."""

from __future__ import annotations

import logging

from core.errors import SecretsError

SERVICE = "maestro-endpoint"
log = logging.getLogger("maestro.secrets")


def _normalise(url: str) -> str:
    # "http://host:8080/v1/" and "http://host:8080/v1" are one endpoint.
    return url.strip().rstrip("/")


def _keyring():
    """The keyring module when it has a real backend, else None (no exception)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken backend config means "no keyring"
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


def available() -> bool:
    return _keyring() is not None


def get_endpoint_key(url: str) -> str | None:
    kr = _keyring()
    if kr is None or not url.strip():
        return None
    try:
        return kr.get_password(SERVICE, _normalise(url))
    except Exception as e:  # noqa: BLE001 - a locked keyring must not stop the app
        log.warning("could not read the endpoint key from the keyring (%s)", type(e).__name__)
        return None


def set_endpoint_key(url: str, key: str) -> None:
    if not url.strip():
        raise SecretsError("set the endpoint URL before its key")
    kr = _keyring()
    if kr is None:
        raise SecretsError("no OS keyring is available on this system, so the key cannot be stored safely")
    try:
        kr.set_password(SERVICE, _normalise(url), key)
    except Exception as e:  # noqa: BLE001 - the error text may quote the key: report only its type
        raise SecretsError(f"the keyring refused to store the key ({type(e).__name__})") from None
    log.info("endpoint key stored in the keyring for %s", _normalise(url))


def delete_endpoint_key(url: str) -> bool:
    """Remove the key; True when one was there."""
    kr = _keyring()
    if kr is None:
        return False
    try:
        from keyring.errors import PasswordDeleteError

        kr.delete_password(SERVICE, _normalise(url))
    except PasswordDeleteError:
        return False
    except Exception as e:  # noqa: BLE001
        raise SecretsError(f"the keyring refused to delete the key ({type(e).__name__})") from None
    log.info("endpoint key removed from the keyring for %s", _normalise(url))
    return True
