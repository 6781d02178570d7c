"""Tests of the X.400 pyasn1 modules and the bounded BER codec."""
