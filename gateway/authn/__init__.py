"""Sender authentication checks: SPF (RFC 7208), DKIM (RFC 6376), ARC
(RFC 8617), DMARC (RFC 7489).

Each check is a standalone, asynchronous function over the DNS interface of
:mod:`gateway.authn.dns`; wiring them into the SMTP server comes later.
"""
