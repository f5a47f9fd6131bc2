"""The `ms-backpain-cds` command."""
