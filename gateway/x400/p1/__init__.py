"""X.400 P1 over RFC 1006 as a Twisted service: the protocol over the
sans-I/O :class:`~gateway.x400.osi.association.P1Association`
(:mod:`.protocol`), inbound transfers into the bus (:mod:`.inbound`), the
outbound delivery agent (:mod:`.channel`) and which peer serves which O/R
address (:mod:`.routing`)."""
