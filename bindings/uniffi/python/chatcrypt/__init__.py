"""chatcrypt for Python: end-to-end encrypted direct chats (an X3DH-style
handshake, hybrid post-quantum by default, and a Double Ratchet session).

Everything is re-exported from the UniFFI-generated module ``chatcrypt.py``
beside this file, which loads ``libchatcrypt_uniffi`` (``.so``, ``.dylib``
or ``.dll``) from this directory. Byte strings in and out are ``bytes``;
every failure raises a subclass of :class:`ChatcryptError` (itself an
``Exception``) carrying the stable ``code`` and a ``detail``.
"""

from .chatcrypt import *  # noqa: F401,F403
