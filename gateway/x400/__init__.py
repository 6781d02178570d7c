"""The X.400 bridge: pure translation code between X.400 and Internet mail."""
