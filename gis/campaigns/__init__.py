"""Inspection campaigns (督察进驻): transferred-case batches, daily dispatch, public disclosure,
assessment scores and summons on record. See ``docs/campaigns.md``."""
