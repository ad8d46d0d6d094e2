"""What a reviewer reads beside the change sets: who gains access to what
(security), what it costs (cost, prices) and what it looks like (picture)."""
