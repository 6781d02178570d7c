"""mailgateway: SMTP/POP3/IMAP mail system with an X.400 (RFC 2156) bridge."""

__version__ = "0.1.0"
