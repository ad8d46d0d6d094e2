"""The floor under everything that talks to AWS: endpoints and sessions, accounts
(STS), the typed CloudFormation layer, its statuses, and polling with its budget."""
