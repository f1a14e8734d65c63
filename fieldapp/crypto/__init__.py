"""Key derivation, key wrapping and sealing of sensitive content (pyca/cryptography)."""
