"""A partner city's call: scope, rate, authority, subjects read, audit."""
