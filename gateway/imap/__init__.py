"""IMAP4rev1 server (RFC 3501) with the extensions modern clients use."""
