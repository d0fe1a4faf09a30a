"""Background work: rows in the `jobs` table, claimed by the worker that delivers webhooks."""
