"""The audit chain's pure model and its verification rules."""
