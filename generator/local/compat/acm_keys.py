"""ACM certificates' keys made ahead of their request, on the local endpoint.

moto issues every certificate with a fresh 2048-bit RSA key (``CertBundle.generate_cert``)
and then parses that key back to validate it (``CertBundle.validate_pk``, an RSA
consistency check): 0.05-0.1 s of CPU, more on a loaded machine, inside the
ExecuteChangeSet that creates the cert stack, which is on a deploy's critical path
(cert, then alb, then ecs; issue 28). Here the next certificate's key is made in a thread
ahead of its request (at the endpoint's start, then after each one taken), and the key
moto has just made is read back without the consistency check it cannot fail.

What a caller sees is the same: each issued certificate has a key of its own, the same
size and exponent, that nothing else was given; a key made elsewhere (ImportCertificate,
an EC2 key pair) is made and validated as before.

This module's room: the ACM keys' timing, nothing of what a certificate holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.acm import models as acm_models

from generator.local.threadflag import ThreadFlag

# What moto's ACM makes every certificate's key with (CertBundle.generate_cert): RSA
# 2048, ACM's default key algorithm for a requested certificate (ACM User Guide, "ACM
# certificate characteristics", and RequestCertificate's KeyAlgorithm, RSA_2048).
EXPONENT, KEY_SIZE = 65537, 2048


class SpareKey:
    """One RSA key made ahead in a thread: ``take`` hands it out and starts the next; a
    take that finds none (the first, or two in a row) makes one in its own thread."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._key: Any = None
        self._making = False

    def make_ahead(self) -> None:
        with self._lock:
            if self._key is not None or self._making:
                return
            self._making = True
        threading.Thread(target=self._made, name="acm-spare-key", daemon=True).start()

    def _made(self) -> None:
        key = None
        try:
            key = self._make()
        except Exception:  # none made ahead: the next take makes its own, and a
            pass  # failure there is the request's, as moto's would be
        finally:
            with self._lock:
                self._making = False
                if self._key is None:
                    self._key = key

    def take(self) -> Any:
        with self._lock:
            key, self._key = self._key, None
        if key is None:
            key = self._make()  # first the caller's, then the next one's
        self.make_ahead()
        return key


_ISSUING = ThreadFlag()  # on while this thread runs moto's generate_cert


def apply() -> None:
    original_key = rsa.generate_private_key
    spare = SpareKey(lambda: original_key(EXPONENT, KEY_SIZE))
    generate_cert = acm_models.CertBundle.generate_cert.__func__  # type: ignore[attr-defined]
    validate_pk = acm_models.CertBundle.validate_pk

    def key_for(public_exponent: int, key_size: int, backend: Any = None) -> Any:
        if _ISSUING.on and (public_exponent, key_size) == (EXPONENT,
                                                                              KEY_SIZE):
            return spare.take()
        return original_key(public_exponent, key_size, backend)

    def validated(self: Any) -> Any:
        if not _ISSUING.on:
            return validate_pk(self)  # an imported key: checked as moto checks it
        # The key generate_cert has just made, as PEM: read back, not checked again.
        return serialization.load_pem_private_key(self.key, password=None,
                                                  unsafe_skip_rsa_key_validation=True)

    acm_models.CertBundle.generate_cert = classmethod(_ISSUING.around(generate_cert))  # type: ignore[assignment]
    acm_models.CertBundle.validate_pk = validated  # type: ignore[method-assign]
    rsa.generate_private_key = key_for  # moto's ACM looks it up by its module's name
    spare.make_ahead()
